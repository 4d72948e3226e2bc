"""Static mounts: URL prefixes routed to :class:`rocket.static.files.StaticFiles` before an app.

``static_mounts(app, [("/assets", "./public"), ("/media", "/srv/media", {...})])`` builds the
router; ``parse_static_spec("/assets=./public")`` reads one entry of the ``static`` setting
or of the ``--static`` flag.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Iterable, Optional, Sequence, Tuple

from rocket.static.files import STATIC_OPTIONS, StaticFiles

StartResponse = Callable[..., Any]


class StaticMounts:
    """A WSGI app routing URL prefixes to :class:`StaticFiles` and the rest to ``app``.

    The longest matching prefix wins; a mount owns its whole prefix (a missing file there is
    a 404, not a fall-through). ``SCRIPT_NAME`` and ``PATH_INFO`` are split as usual.
    """

    def __init__(
        self, app: Optional[Callable[..., Any]], mounts: Sequence[Tuple[str, StaticFiles]]
    ):
        self.app = app
        self.mounts = sorted(mounts, key=lambda m: len(m[0]), reverse=True)

    def __call__(self, environ: Dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Dispatch one request (PEP 3333)."""
        path = environ.get("PATH_INFO", "")
        for prefix, static in self.mounts:
            if path.startswith(prefix) and (
                len(path) == len(prefix) or path[len(prefix)] == "/" or not prefix
            ):
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
                environ["PATH_INFO"] = path[len(prefix) :]
                return static(environ, start_response)
        if self.app is None:
            body = b"404 Not Found\n"
            start_response(
                "404 Not Found",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.app(environ, start_response)


def _normalize_prefix(prefix: str) -> str:
    if prefix == "":
        return prefix  # "/" once normalized: the whole site (mounts are normalized twice)
    if not prefix.startswith("/"):
        raise ValueError(f"static mount URL {prefix!r} must start with '/'")
    if any(c in prefix for c in "?#%\\\x00") or any(c.isspace() for c in prefix):
        raise ValueError(f"static mount URL {prefix!r} must be a plain path (no ?, #, %, spaces)")
    if any(seg in (".", "..") for seg in prefix.split("/")):
        raise ValueError(f"static mount URL {prefix!r} must not contain '.' or '..' segments")
    return prefix.rstrip("/")


def static_mounts(
    app: Optional[Callable[..., Any]], mounts: Sequence[Sequence[Any]]
) -> StaticMounts:
    """Put static mounts in front of ``app`` (which may be None: 404 outside the mounts).

    ``mounts`` is a list of ``(url_prefix, directory)`` or ``(url_prefix, directory, options)``
    where options are :class:`StaticFiles` keyword arguments.
    """
    built = []
    for mount in mounts:
        if len(mount) not in (2, 3):
            raise ValueError(f"static mount {mount!r} must be (url_prefix, directory[, options])")
        prefix, directory = _normalize_prefix(mount[0]), mount[1]
        options = dict(mount[2]) if len(mount) == 3 else {}
        unknown = sorted(set(options) - set(STATIC_OPTIONS))
        if unknown:
            raise ValueError(
                f"static mount {mount[0]!r}: unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(STATIC_OPTIONS)}"
            )
        built.append((prefix, StaticFiles(directory, **options)))
    return StaticMounts(app, built)


def parse_static_spec(spec: str) -> Tuple[str, str]:
    """Parse ``"URL=DIR"`` (the ``static`` setting, ``--static``) into ``(prefix, directory)``.

    The prefix loses its trailing slash (``"/"`` becomes ``""``, the whole site). Raises
    ValueError with a sentence naming the problem; the directory must exist.
    """
    prefix, sep, directory = spec.partition("=")
    prefix, directory = prefix.strip(), directory.strip()
    if not sep or not prefix or not directory:
        raise ValueError(f"static mount {spec!r} must look like URL=DIR, e.g. /assets=./public")
    prefix = _normalize_prefix(prefix)
    if not os.path.isdir(directory):
        raise ValueError(f"static mount {spec!r}: directory {directory!r} does not exist")
    return prefix, directory


def to_static_mounts(value: Any) -> Tuple[Tuple[Any, ...], ...]:
    """``"URL=DIR"`` strings (or ``(url, dir[, options])`` tuples), one or a list of them.

    The converter of the ``static`` setting: checks every entry now (a bad one is an error at
    construction, not at the first request) and returns tuples for :func:`static_mounts`.
    """
    if value is None:
        return ()
    if isinstance(value, str) or (isinstance(value, tuple) and value and isinstance(value[0], str)):
        value = [value]  # one mount; a tuple of mounts (this function's own result) stays a list
    mounts = []
    for entry in value:
        if isinstance(entry, str):
            mounts.append(parse_static_spec(entry))
            continue
        entry = tuple(entry)
        if len(entry) not in (2, 3):
            raise ValueError(f"static mount {entry!r} must be (url_prefix, directory[, options])")
        if not os.path.isdir(entry[1]):
            raise ValueError(f"static mount {entry[0]!r}: directory {entry[1]!r} does not exist")
        mounts.append((_normalize_prefix(entry[0]),) + entry[1:])
    return tuple(mounts)


def wrap_static(app: Optional[Callable[..., Any]], mounts: Sequence[Sequence[Any]]) -> Any:
    """``app`` itself when there are no mounts, else ``static_mounts(app, mounts)``."""
    return static_mounts(app, mounts) if mounts else app
