"""Connection and request hooks, shared by the WSGI server and the SocketServer.

Four settings name the hooks (pulsar's events):

- ``connection_made(conn)``: a pool thread is about to serve a new connection (after the TLS
  handshake); fired once per connection;
- ``pre_request(conn, message)``: before a request (WSGI: the parsed ``Request``) or a
  decoded message is handled;
- ``post_request(conn, message, reply)``: after it was answered (the SocketServer's reply, or
  None for HTTP, whose response is already written);
- ``connection_lost(conn, exc)``: once the connection is closed, by whoever closes it (the
  worker, the monitor's idle sweep, a stop); ``exc`` is what ended it when known.

The server fires ``connection_made`` and arranges ``connection_lost``; the workers fire
``pre_request`` and ``post_request`` themselves, around each request or message. A hook that
raises is logged on ``Rocket.Errors.Hooks`` and otherwise ignored: it never ends the
connection loop. With no hook set a server has no :class:`Hooks` at all (``None``), so the
hot path pays nothing but one ``is None`` test per request and per connection hand-off.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from rocket.logs import errors_log

__all__ = ["HOOK_NAMES", "Hooks", "maybe_hooks"]

HOOK_NAMES = ("connection_made", "pre_request", "post_request", "connection_lost")
"""The hook settings, in the order they fire on one connection."""

log = errors_log("Hooks")


class Hooks:
    """The hook callables of one server; each ``fire_*`` method logs and swallows a failure."""

    __slots__ = HOOK_NAMES

    def __init__(self, connection_made: Optional[Callable[..., Any]] = None,
                 pre_request: Optional[Callable[..., Any]] = None,
                 post_request: Optional[Callable[..., Any]] = None,
                 connection_lost: Optional[Callable[..., Any]] = None) -> None:
        self.connection_made = connection_made
        self.pre_request = pre_request
        self.post_request = post_request
        self.connection_lost = connection_lost

    def _call(self, name: str, hook: Callable[..., Any], *args: Any) -> None:
        try:
            hook(*args)
        except Exception:
            log.exception("hook %s (%r) raised; the connection goes on", name, hook)

    def made(self, conn: Any) -> None:
        """Fire ``connection_made`` and arrange for ``connection_lost`` when ``conn`` closes."""
        conn.on_close = self.lost
        if self.connection_made is not None:
            self._call("connection_made", self.connection_made, conn)

    def lost(self, conn: Any) -> None:
        """``conn.on_close`` callback: fire ``connection_lost(conn, exc)``.

        ``exc`` is the ``error`` its message stream recorded (SocketServer), else None.
        """
        if self.connection_lost is not None:
            exc = getattr(conn.reader, "error", None)
            self._call("connection_lost", self.connection_lost, conn, exc)

    def before(self, conn: Any, message: Any) -> None:
        """Fire ``pre_request(conn, message)`` when set."""
        if self.pre_request is not None:
            self._call("pre_request", self.pre_request, conn, message)

    def after(self, conn: Any, message: Any, reply: Any) -> None:
        """Fire ``post_request(conn, message, reply)`` when set."""
        if self.post_request is not None:
            self._call("post_request", self.post_request, conn, message, reply)

    def has_request_hooks(self) -> bool:
        """True when ``pre_request`` or ``post_request`` is set: the workers then fire them."""
        return self.pre_request is not None or self.post_request is not None

    def __repr__(self) -> str:
        set_ = [n for n in HOOK_NAMES if getattr(self, n) is not None]
        return f"<Hooks {', '.join(set_) or 'none'}>"


def maybe_hooks(config: Any) -> Optional[Hooks]:
    """The :class:`Hooks` of a settings object, or None when no hook is set."""
    found = {name: getattr(config, name, None) for name in HOOK_NAMES}
    if all(hook is None for hook in found.values()):
        return None
    return Hooks(**found)
