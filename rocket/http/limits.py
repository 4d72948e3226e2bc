"""Size limits for the request parser; every one is a setting."""

from __future__ import annotations


class Limits:
    """Size limits for the parser; every one is a setting.

    The defaults follow long-standing practice, so that what passes nginx or Apache passes here:

    - ``max_request_line`` 8190: Apache's ``LimitRequestLine``; longer URLs break in browsers
      and proxies anyway (414).
    - ``max_field_bytes`` 8190: Apache's ``LimitRequestFieldSize`` for one header line (431).
    - ``max_header_bytes`` 65536: the whole head; four of nginx's 8 KiB large buffers with
      margin for big cookies (431).
    - ``max_headers`` 100: Apache's ``LimitRequestFields`` (431).
    - ``max_chunk_line`` 4096: a chunk-size line is a hex number plus rarely used extensions;
      4 KiB leaves room for extensions while bounding what a chunk line can make us buffer (400).
    - ``max_trailer_bytes`` 8192: trailers are rare and small (431).
    - ``max_body`` 1 GiB: waitress' ``max_request_body_size``; 0 means no limit (413).
    - ``min_chunk_avg_bytes`` 256: past the first ``FREE_CHUNKS`` chunks of a body, its chunks
      must average at least this many bytes (400). Each chunk costs a few microseconds to parse,
      so one-byte chunks made a 1 GiB body cost an hour of CPU; with this floor a body costs
      CPU in proportion to its bytes, like any other (measured: 1 million one-byte chunks took
      3.2 s; a 1 GiB body is now at most about 4 million chunks). 0 turns the check off.
    """

    __slots__ = (
        "max_request_line",
        "max_field_bytes",
        "max_header_bytes",
        "max_headers",
        "max_chunk_line",
        "max_trailer_bytes",
        "max_body",
        "min_chunk_avg_bytes",
    )

    def __init__(
        self,
        *,
        max_request_line: int = 8190,
        max_field_bytes: int = 8190,
        max_header_bytes: int = 65536,
        max_headers: int = 100,
        max_chunk_line: int = 4096,
        max_trailer_bytes: int = 8192,
        max_body: int = 1 << 30,
        min_chunk_avg_bytes: int = 256,
    ) -> None:
        for name, value in (
            ("max_request_line", max_request_line),
            ("max_field_bytes", max_field_bytes),
            ("max_header_bytes", max_header_bytes),
            ("max_headers", max_headers),
            ("max_chunk_line", max_chunk_line),
            ("max_trailer_bytes", max_trailer_bytes),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name, value in (("max_body", max_body), ("min_chunk_avg_bytes", min_chunk_avg_bytes)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0 (0 = no limit), got {value!r}")
        self.max_request_line = max_request_line
        self.max_field_bytes = max_field_bytes
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_chunk_line = max_chunk_line
        self.max_trailer_bytes = max_trailer_bytes
        self.max_body = max_body
        self.min_chunk_avg_bytes = min_chunk_avg_bytes

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__)
        return f"Limits({args})"


FREE_CHUNKS = 4096
"""Chunks a body may have before ``min_chunk_avg_bytes`` applies: small streamed uploads (a
line per chunk) are never refused, and the check costs nothing on ordinary bodies."""

DEFAULT_LIMITS = Limits()
