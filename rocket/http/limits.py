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
    """

    __slots__ = (
        "max_request_line",
        "max_field_bytes",
        "max_header_bytes",
        "max_headers",
        "max_chunk_line",
        "max_trailer_bytes",
        "max_body",
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
        if not isinstance(max_body, int) or max_body < 0:
            raise ValueError(f"max_body must be an integer >= 0 (0 = no limit), got {max_body!r}")
        self.max_request_line = max_request_line
        self.max_field_bytes = max_field_bytes
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_chunk_line = max_chunk_line
        self.max_trailer_bytes = max_trailer_bytes
        self.max_body = max_body

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__)
        return f"Limits({args})"


DEFAULT_LIMITS = Limits()
