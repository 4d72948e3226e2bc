"""One error hierarchy for the HTTP layer.

Every error carries the status a server should answer with (``status``) and a message
naming the rule or limit that was broken. The parsers raise nothing else: any other
exception escaping them is a bug.
"""

from __future__ import annotations


class HTTPError(Exception):
    """Base of every protocol error; ``status`` and ``reason`` give the answer to send."""

    status: int = 400
    reason: str = "Bad Request"

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.reason)
        self.message = message or self.reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class BadRequest(HTTPError):
    """Malformed request syntax or framing (RFC 9110 §15.5.1)."""


class IncompleteRequest(BadRequest):
    """The peer closed the connection in the middle of a message."""


class RequestTimeout(HTTPError):
    """The client did not send a complete head or body in time (RFC 9110 §15.5.9)."""

    status = 408
    reason = "Request Timeout"


class BodyTooLarge(HTTPError):
    """The body exceeds the configured limit (RFC 9110 §15.5.14)."""

    status = 413
    reason = "Content Too Large"


class RequestLineTooLong(HTTPError):
    """The request line exceeds the configured limit (RFC 9110 §15.5.15)."""

    status = 414
    reason = "URI Too Long"


class ExpectationFailed(HTTPError):
    """An ``Expect`` value other than ``100-continue`` (RFC 9110 §10.1.1)."""

    status = 417
    reason = "Expectation Failed"


class HeaderTooLarge(HTTPError):
    """A header field, the header block or the header count exceeds its limit (RFC 6585 §5)."""

    status = 431
    reason = "Request Header Fields Too Large"


class InternalServerError(HTTPError):
    """The application or server failed; also raised for an invalid response from the app."""

    status = 500
    reason = "Internal Server Error"


class InvalidResponse(InternalServerError):
    """The application asked for a response that cannot be sent safely (bad header, hop-by-hop)."""


class NotImplementedCoding(HTTPError):
    """A transfer coding the server does not implement (RFC 9112 §6.1)."""

    status = 501
    reason = "Not Implemented"


class VersionNotSupported(HTTPError):
    """A major HTTP version other than 1 (RFC 9110 §15.6.6)."""

    status = 505
    reason = "HTTP Version Not Supported"


class HTTP2Preface(VersionNotSupported):
    """The head was ``PRI * HTTP/2.0``: the client speaks HTTP/2 (the connection preface,
    RFC 9113 §3.4). A server with HTTP/2 on hands the connection over; others answer 505."""


class BadResponse(HTTPError):
    """A malformed response, seen by the client-side parser."""

    status = 502
    reason = "Bad Gateway"


class IncompleteResponse(BadResponse):
    """The server closed the connection in the middle of a response."""
