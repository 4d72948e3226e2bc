"""``wsgi.file_wrapper``: lets the server send a file with ``os.sendfile`` (PEP 3333).

The WSGI worker recognises a :class:`FileWrapper` result whose file has a real descriptor and
sends it with ``conn.sendfile`` (zero-copy on plain sockets). Anything else — or a wrapper
reaching middleware that iterates it — falls back to reading ``block_size`` blocks.
``offset``/``length`` select a byte range (for Range requests).
"""

from __future__ import annotations

import os
import stat
from typing import Any, Iterator, Optional

__all__ = ["FileWrapper"]


class FileWrapper:
    """Wrap a file-like object so the server may send it efficiently.

    ``FileWrapper(filelike, block_size=8192, offset=0, length=None)``: send the bytes from
    ``offset`` (a seek, when not 0) up to ``length`` bytes (None = to end of file).
    ``close()`` closes the file, as PEP 3333 requires.
    """

    __slots__ = ("filelike", "block_size", "offset", "length")

    def __init__(
        self, filelike: Any, block_size: int = 8192, offset: int = 0, length: Optional[int] = None
    ) -> None:
        if offset < 0 or (length is not None and length < 0):
            raise ValueError(f"offset {offset} and length {length} must not be negative")
        self.filelike = filelike
        self.block_size = int(block_size) if block_size and block_size > 0 else 8192
        self.offset = int(offset)
        self.length = None if length is None else int(length)

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        if self.offset:
            self.filelike.seek(self.offset)
        remaining = self.length
        size = self.block_size
        while remaining is None or remaining > 0:
            data = read(size if remaining is None else min(size, remaining))
            if not data:
                return
            if remaining is not None:
                remaining -= len(data)
            yield data

    def close(self) -> None:
        """Close the wrapped file (when it has ``close``)."""
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()

    def sendfile_span(self) -> Optional[int]:
        """Bytes to send with ``sendfile``, or None when the file cannot be sent that way.

        Needs a regular file with a descriptor; the span is clamped to the file's size.
        """
        try:
            fd = self.filelike.fileno()
            st = os.fstat(fd)
        except (AttributeError, OSError, ValueError, TypeError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        available = max(st.st_size - self.offset, 0)
        return available if self.length is None else min(self.length, available)
