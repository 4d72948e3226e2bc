"""Map a request path onto a file under a root directory, safely.

How it works: ``PATH_INFO`` arrives percent-decoded by the server, as a latin-1 ``str`` holding
the raw request bytes (PEP 3333). It is turned back into bytes, split on ``/`` and every segment
is checked on its own: ``..`` and ``.``, NUL, backslashes, drive letters and anything that still
decodes to one of those (``%2e%2e``, ``%2F``, ``%5c`` sent double-encoded, or Rocket's literal
``%2F``) are refused outright. The surviving segments are joined under the root, never the raw
path, so an absolute path cannot replace the root. Finally ``os.path.realpath`` resolves symlinks
and the result must still lie inside the root, unless the mount allows following symlinks out.

Nothing here opens a file: the caller opens the resolved path and checks ``fstat`` on the open
descriptor, so what is served is what was checked.
"""

from __future__ import annotations

import os
import stat
from typing import List, NamedTuple, Optional, Sequence
from urllib.parse import unquote_to_bytes


class Refused(Exception):
    """A path that must not be served; ``status`` is the answer (400, 403 or 404)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Target(NamedTuple):
    """A resolved request path: ``path`` on disk, its ``stat``, and how it was asked for."""

    path: str
    st: os.stat_result
    segments: List[str]
    trailing_slash: bool

    @property
    def is_dir(self) -> bool:
        """True when the target is a directory."""
        return stat.S_ISDIR(self.st.st_mode)

    @property
    def is_file(self) -> bool:
        """True when the target is a regular file (devices, FIFOs and sockets never are)."""
        return stat.S_ISREG(self.st.st_mode)


_FORBIDDEN_BYTES = (b"\x00", b"\\")


def _check_segment(raw: bytes) -> None:
    """Refuse a segment that could climb out of its directory, however it is spelled."""
    # The server already decoded one level; decode once more so a double-encoded
    # ``%252e%252e`` or a literal ``%2F`` kept by the server cannot hide a separator.
    again = unquote_to_bytes(raw)
    if b"/" in again:
        raise Refused(400, "path contains an encoded slash")
    for form in (raw, again):
        if form in (b"..", b"."):
            raise Refused(400, "path contains a dot segment")
        for bad in _FORBIDDEN_BYTES:
            if bad in form:
                raise Refused(400, f"path contains {bad!r}")


def split_path(path_info: str) -> tuple[List[str], bool]:
    """Split a PATH_INFO into checked filesystem segments and a trailing-slash flag.

    Raises :class:`Refused` (400) for traversal spellings. Empty segments (``//``) are dropped.
    """
    try:
        raw = path_info.encode("latin-1")
    except UnicodeEncodeError:
        raise Refused(400, "PATH_INFO is not a latin-1 string (PEP 3333)") from None
    trailing_slash = raw.endswith(b"/")
    segments: List[str] = []
    for part in raw.split(b"/"):
        if not part:
            continue
        _check_segment(part)
        name = os.fsdecode(part)
        # Windows: "C:" or "\\server" would make os.path.join drop the root.
        if os.path.isabs(name) or os.path.splitdrive(name)[0]:
            raise Refused(400, "path contains an absolute component")
        segments.append(name)
    return segments, trailing_slash


def is_hidden(name: str) -> bool:
    """Dotfiles (``.git``, ``.env``, ``.htpasswd``) are hidden unless a mount shows them."""
    return name.startswith(".")


def inside(real_root: str, real_path: str) -> bool:
    """True when ``real_path`` is ``real_root`` or lies below it (both already realpath'd)."""
    if real_path == real_root:
        return True
    prefix = real_root if real_root.endswith(os.sep) else real_root + os.sep
    return real_path.startswith(prefix)


def maybe_stat_within(
    real_root: str, candidate: str, follow_symlinks: bool
) -> Optional[tuple[str, os.stat_result]]:
    """Resolve ``candidate`` and stat it; None when missing or when it leaves the root.

    Symlinks that stay inside the root are always fine; leaving it needs ``follow_symlinks``.
    """
    real = os.path.realpath(candidate)
    if not follow_symlinks and not inside(real_root, real):
        return None
    try:
        return real, os.stat(real)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise Refused(403, f"cannot stat: {exc.strerror}") from None


def maybe_stat_below(
    real_root: str, real_base: str, names: Sequence[str], follow_symlinks: bool
) -> Optional[tuple[str, os.stat_result]]:
    """Stat ``real_base/names...`` (``names`` already checked); None when missing or escaping.

    The fast path: one ``lstat`` per name, and the joined path is already canonical because
    no name is a dot segment or holds a separator. Only when a component is a symlink does it
    fall back to :func:`maybe_stat_within` (``realpath`` plus the containment check).
    """
    path = real_base
    st = None
    for i, name in enumerate(names):
        path = path + name if path.endswith(os.sep) else path + os.sep + name
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise Refused(403, f"cannot stat: {exc.strerror}") from None
        if stat.S_ISLNK(st.st_mode):
            return maybe_stat_within(
                real_root, os.path.join(path, *names[i + 1 :]), follow_symlinks
            )
    if st is None:
        return maybe_stat_within(real_root, real_base, follow_symlinks)
    return path, st


def resolve(
    real_root: str,
    path_info: str,
    *,
    follow_symlinks: bool = False,
    show_dotfiles: bool = False,
) -> Target:
    """Resolve a PATH_INFO under ``real_root`` (which must already be ``realpath``'d).

    Raises :class:`Refused`: 400 for traversal spellings, 404 for missing, hidden or
    escaping paths (a refused symlink looks exactly like a missing file).
    """
    segments, trailing_slash = split_path(path_info)
    if not show_dotfiles and any(is_hidden(s) for s in segments):
        raise Refused(404, "dotfiles are hidden")
    found = maybe_stat_below(real_root, real_root, segments, follow_symlinks)
    if found is None:
        raise Refused(404, "not found")
    real, st = found
    return Target(real, st, segments, trailing_slash)
