"""The responses the server makes up itself: protocol errors, a failed application, plain
HTTP on a TLS port. Each one is complete and announces the close; its head comes from the
response writer (:func:`rocket.http.writer.plan_response`), so it follows the same rules as an
application's.
"""

from __future__ import annotations

from typing import Optional

from rocket.http.writer import plan_response

__all__ = ["error_response"]


def error_response(
    status: int,
    reason: str,
    body: bytes,
    http_version: bytes = b"1.1",
    server: Optional[bytes] = None,
    content_type: str = "text/plain; charset=utf-8",
    head_only: bool = False,
) -> bytes:
    """The bytes of a complete error response after which the server closes the connection.

    The head has Content-Type, Content-Length, ``Connection: close``, Date and (when
    ``server`` is given) Server; ``body`` follows unless ``head_only`` (the answer to HEAD,
    whose Content-Length still describes the body it would get). This is the one writer of
    the responses the server makes up itself: protocol errors, a failed application, plain
    HTTP on a TLS port.
    """
    head = plan_response(b"GET", http_version, False, f"{status} {reason}",
                         [("Content-Type", content_type), ("Content-Length", str(len(body)))],
                         len(body), server)
    return head.data if head_only else head.data + body
