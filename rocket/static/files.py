"""Static files as a WSGI application.

How it works: :class:`StaticFiles` resolves ``PATH_INFO`` under its root
(:mod:`rocket.static.paths` refuses traversal, dotfiles and escaping symlinks), opens the file,
takes its validators from ``fstat`` on the open descriptor, evaluates the preconditions
(:mod:`rocket.static.validators`) and the ``Range`` (:mod:`rocket.static.ranges`), then answers
with ``wsgi.file_wrapper``. Under Rocket that wrapper takes an offset and a length, and the
worker sends it with ``os.sendfile`` on plain sockets and in bounded reads under TLS; under
another server a bounded block iterator is used instead. Small files are read whole so the
head and the body leave in one ``send``.

Static mounts in front of another app are :mod:`rocket.static.mounts`, which imports this
module (never the reverse).
"""

from __future__ import annotations

import os
import stat
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import quote

from rocket.static.cache import CACHE_BYTES, ResponseCache
from rocket.static.listing import listing_page, read_entries
from rocket.static.paths import Refused, Target, maybe_stat_below, resolve
from rocket.static.ranges import (
    BLOCK_SIZE,
    FileBlocks,
    MultipartRanges,
    content_range,
    parse_range,
)
from rocket.static.validators import (
    accepted_q,
    content_type,
    evaluate_preconditions,
    http_date,
    if_range_allows,
    make_etag,
)

__all__ = ["StaticFiles", "STATIC_OPTIONS"]

StartResponse = Callable[..., Any]
Headers = List[Tuple[str, str]]

SMALL_FILE_BYTES = 64 * 1024
"""Files up to this size are read into memory and sent with the head in one ``send``: one
syscall instead of two, and 64 KiB per busy thread is cheap."""

# O_NONBLOCK: a file swapped for a FIFO after the stat cannot hang the thread in open();
# O_NOFOLLOW: the path opened is already resolved, so a symlink there now was swapped in.
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)

ALLOW = "GET, HEAD"
INDEX_FILE = "index.html"
# (suffix, Content-Encoding) in order of preference when the client accepts both.
PRECOMPRESSED = ((".br", "br"), (".gz", "gzip"))

_REASONS = {
    200: "OK",
    206: "Partial Content",
    301: "Moved Permanently",
    304: "Not Modified",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    412: "Precondition Failed",
    416: "Range Not Satisfiable",
}


def _status(code: int) -> str:
    return f"{code} {_REASONS[code]}"


def _rocket_file_wrapper() -> Optional[type]:
    try:
        from rocket.workers.filewrapper import FileWrapper
    except ImportError:  # running without Rocket's worker (another WSGI server)
        return None
    return FileWrapper


STATIC_OPTIONS = (
    "display_index",
    "cache_control",
    "follow_symlinks",
    "show_dotfiles",
    "precompressed",
    "cache_bytes",
)
"""The keyword options of :class:`StaticFiles`: a mount's options, the ``fs`` method's app_info."""


class StaticFiles:
    """A WSGI application serving the files under ``root``.

    ``display_index`` lists directories without an ``index.html``; ``cache_control`` is sent
    as is on files (e.g. ``"public, max-age=3600"``); ``follow_symlinks`` allows symlinks that
    leave the root; ``show_dotfiles`` serves names starting with a dot; ``precompressed``
    serves a ``.br`` / ``.gz`` sibling to clients that accept it; ``cache_bytes`` bounds the
    memory of :mod:`rocket.static.cache` (0 turns it off).
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        display_index: bool = False,
        cache_control: Optional[str] = None,
        follow_symlinks: bool = False,
        show_dotfiles: bool = False,
        precompressed: bool = True,
        cache_bytes: int = CACHE_BYTES,
    ) -> None:
        real_root = os.path.realpath(os.fspath(root))
        if not os.path.isdir(real_root):
            raise ValueError(f"static root {os.fspath(root)!r} is not a directory")
        self.root = real_root
        self.display_index = display_index
        self.cache_control = cache_control
        self.follow_symlinks = follow_symlinks
        self.show_dotfiles = show_dotfiles
        self.precompressed = precompressed
        self._rocket_wrapper = _rocket_file_wrapper()
        self._cache = ResponseCache(cache_bytes) if cache_bytes > 0 else None

    def __repr__(self) -> str:
        return f"StaticFiles({self.root!r})"

    def __call__(self, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Serve one request (PEP 3333)."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            # RFC 9110 §15.5.6: a 405 MUST carry Allow.
            return self._text(start_response, method, 405, [("Allow", ALLOW)])
        cache = self._cache
        if cache is not None and method == "GET":
            key = cache.key(environ)
            hit = cache.maybe_get(key) if key is not None else None
            if hit is not None:
                start_response("200 OK", hit[0])
                return [hit[1]]
        try:
            target = resolve(
                self.root,
                environ.get("PATH_INFO", ""),
                follow_symlinks=self.follow_symlinks,
                show_dotfiles=self.show_dotfiles,
            )
            if target.is_dir:
                return self._directory(environ, start_response, method, target)
            if target.trailing_slash or not target.is_file:
                raise Refused(404, "not found")
            return self._file(environ, start_response, method, target.path)
        except Refused as exc:
            return self._text(start_response, method, exc.status)

    # -- directories ---------------------------------------------------------------------

    def _directory(
        self, environ: Dict[str, Any], start_response: StartResponse, method: str, target: Target
    ) -> Iterable[bytes]:
        if not target.trailing_slash:
            return self._redirect_to_slash(environ, start_response, method, target)
        found = maybe_stat_below(self.root, target.path, (INDEX_FILE,), self.follow_symlinks)
        if found is not None and stat.S_ISREG(found[1].st_mode):
            return self._file(environ, start_response, method, found[0])
        if not self.display_index:
            raise Refused(403, "directory listing is off")
        return self._listing(environ, start_response, method, target)

    def _redirect_to_slash(
        self, environ: Dict[str, Any], start_response: StartResponse, method: str, target: Target
    ) -> Iterable[bytes]:
        # Built from the checked segments, never the raw path: "//evil.example" cannot turn
        # into a scheme-relative Location (an open redirect).
        path = "/".join(quote(os.fsencode(s)) for s in target.segments)
        script = quote(environ.get("SCRIPT_NAME", "").encode("latin-1")).rstrip("/")
        location = f"{script}/{path}/" if path else f"{script}/"
        query = environ.get("QUERY_STRING")
        if query:
            location += "?" + query
        return self._text(start_response, method, 301, [("Location", location)])

    def _listing(
        self, environ: Dict[str, Any], start_response: StartResponse, method: str, target: Target
    ) -> Iterable[bytes]:
        try:
            entries = read_entries(self.root, target.path, self.show_dotfiles, self.follow_symlinks)
        except OSError:
            raise Refused(403, "directory cannot be read") from None
        shown = "/" + "/".join(target.segments) + ("/" if target.segments else "")
        title = environ.get("SCRIPT_NAME", "") + shown
        page = listing_page(title, entries, environ.get("QUERY_STRING", ""),
                            has_parent=bool(target.segments))
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(page)))]
        start_response(_status(200), headers)
        return [] if method == "HEAD" else [page]

    # -- files ---------------------------------------------------------------------------

    def _pick_variant(self, environ: Dict[str, Any], path: str) -> Tuple[str, Optional[str], bool]:
        """Choose the file to send: (path, Content-Encoding or None, has_variants)."""
        if not self.precompressed or path.endswith((".br", ".gz")):
            return path, None, False
        accept = environ.get("HTTP_ACCEPT_ENCODING", "")
        has_variants = False
        parent, name = os.path.split(path)
        best: Tuple[float, str, Optional[str]] = (0.0, path, None)
        for suffix, coding in PRECOMPRESSED:
            found = maybe_stat_below(self.root, parent, (name + suffix,), self.follow_symlinks)
            if found is None or not stat.S_ISREG(found[1].st_mode):
                continue
            has_variants = True
            q = accepted_q(accept, coding) if accept else 0.0
            if q > best[0]:
                best = (q, found[0], coding)
        return best[1], best[2], has_variants

    def _file(
        self, environ: Dict[str, Any], start_response: StartResponse, method: str, path: str
    ) -> Iterable[bytes]:
        send_path, coding, has_variants = self._pick_variant(environ, path)
        try:
            f = os.fdopen(os.open(send_path, _OPEN_FLAGS), "rb")
        except FileNotFoundError:
            raise Refused(404, "not found") from None
        except OSError:
            raise Refused(403, "file cannot be read") from None
        try:
            return self._send_open_file(
                environ, start_response, method, path, send_path, f, coding, has_variants
            )
        except BaseException:
            f.close()
            raise

    def _send_open_file(
        self,
        environ: Dict[str, Any],
        start_response: StartResponse,
        method: str,
        path: str,
        send_path: str,
        f: Any,
        coding: Optional[str],
        has_variants: bool,
    ) -> Iterable[bytes]:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Refused(404, "not a regular file")
        size = st.st_size
        mtime = int(st.st_mtime)
        etag = make_etag(st, "-" + coding if coding else "")
        ctype = content_type(os.path.basename(path))
        headers: Headers = [("Last-Modified", http_date(mtime)), ("ETag", etag)]
        if self.cache_control:
            headers.append(("Cache-Control", self.cache_control))
        if has_variants:
            headers.append(("Vary", "Accept-Encoding"))
        condition = evaluate_preconditions(environ, etag, mtime)
        if condition is not None:
            f.close()
            if condition == 304:
                # RFC 9110 §15.4.5: the validators and caching fields, no content.
                start_response(_status(304), headers)
                return []
            return self._text(start_response, method, condition, headers)
        if coding:
            headers.append(("Content-Encoding", coding))
        headers.append(("Accept-Ranges", "bytes"))
        range_header = environ.get("HTTP_RANGE")
        ranges = None
        if range_header is not None and method == "GET" and if_range_allows(environ, etag, mtime):
            ranges = parse_range(range_header, size)
        if ranges is not None and not ranges:
            f.close()
            headers.append(("Content-Range", f"bytes */{size}"))  # RFC 9110 §15.5.17
            return self._text(start_response, method, 416, headers)
        if ranges is not None and len(ranges) > 1:
            body = MultipartRanges(f, ranges, size, ctype)
            headers.append(("Content-Type", body.content_type))
            headers.append(("Content-Length", str(body.content_length)))
            start_response(_status(206), headers)
            return body
        headers.append(("Content-Type", ctype))
        if ranges:
            first, last = ranges[0]
            status = 206
            headers.append(("Content-Range", content_range(first, last, size)))
        else:
            first, last, status = 0, size - 1, 200
        length = last - first + 1
        headers.append(("Content-Length", str(length)))
        start_response(_status(status), headers)
        if method == "HEAD" or length == 0:
            f.close()
            return []
        body = self._body(environ, f, first, length, size)
        if status == 200 and self._cache is not None and body.__class__ is list:
            key = self._cache.key(environ)
            if key is not None:
                self._cache.store(key, send_path, st, headers, body[0])
        return body

    def _body(
        self, environ: Dict[str, Any], f: Any, offset: int, length: int, size: int
    ) -> Iterable[bytes]:
        if length <= SMALL_FILE_BYTES:
            try:
                f.seek(offset)
                data = f.read(length)
            finally:
                f.close()
            if len(data) != length:
                raise OSError("file shrank while being read")
            return [data]
        wrapper = environ.get("wsgi.file_wrapper")
        if wrapper is not None and wrapper is self._rocket_wrapper:
            return wrapper(f, BLOCK_SIZE, offset=offset, length=length)
        if wrapper is not None and offset == 0 and length == size:
            return wrapper(f, BLOCK_SIZE)  # a foreign server's wrapper sends the whole file
        return FileBlocks(f, offset, length)

    # -- small responses -----------------------------------------------------------------

    def _text(
        self,
        start_response: StartResponse,
        method: str,
        code: int,
        extra: Sequence[Tuple[str, str]] = (),
    ) -> Iterable[bytes]:
        body = f"{code} {_REASONS[code]}\n".encode("ascii")
        headers = list(extra)
        headers += [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        start_response(_status(code), headers)
        return [] if method == "HEAD" else [body]
