"""Where listening sockets come from: bound here, inherited from systemd, or given as fd://N.

- ``bind_socket(interface, backlog, reuse_port)`` binds and listens on one TCP or unix
  interface, for a single server and for the arbiter alike. ``SO_REUSEADDR`` is set on TCP
  so a restart does not wait for TIME_WAIT; ``reuse_port`` adds ``SO_REUSEPORT`` so each
  worker process can bind its own socket on the same address and the kernel spreads new
  connections between them.
- ``listen_fds()`` adopts systemd socket activation (``LISTEN_PID``/``LISTEN_FDS``, fds from 3
  on, sd_listen_fds(3)); ``adopt_fd(n)`` adopts one inherited descriptor (``--bind fd://N``).
  Adopted sockets are never re-bound: the socket is the one the supervisor made. Adopting
  takes a duplicate: descriptor N stays its owner's, so closing the adopted socket (at a stop,
  or whenever it is garbage-collected) never closes a number someone else closes or reuses.

Nothing here reads or writes client data; that is ``connection.py``'s job.
"""

from __future__ import annotations

import errno
import os
import socket
import stat
from typing import Any, List, Optional, Sequence, Tuple

__all__ = ["SD_LISTEN_FDS_START", "bind_socket", "listen_fds", "adopt_fd",
           "reuse_port_supported", "bind_interfaces", "reserve_port", "reuse_port_sockets"]

SD_LISTEN_FDS_START = 3
"""The first descriptor systemd passes (sd_listen_fds(3)); 0-2 are stdio."""


def reuse_port_supported() -> bool:
    """True when this platform has ``SO_REUSEPORT`` (Linux >= 3.9, macOS, the BSDs)."""
    return hasattr(socket, "SO_REUSEPORT")


def bind_socket(interface: Any, backlog: int = socket.SOMAXCONN, reuse_port: bool = False,
                inheritable: bool = True) -> socket.socket:
    """Bind and listen on ``interface`` (``rocket.config.settings.Interface``); returns the socket.

    The one binder, for a single server's listeners and for an arbiter alike:

    - TCP: the address comes from ``getaddrinfo`` (host names work; an empty host is every
      IPv4 address). ``SO_REUSEADDR`` is set (except on Windows, where it would let another
      process take the port). An IPv6 literal gets ``IPV6_V6ONLY``, so ``[::]:N`` and
      ``0.0.0.0:N`` can both be bound, and ``[::]`` means the same on every platform.
    - unix: a stale socket file (nothing answers on it) is removed first. A live server's
      socket, or a file that is not a socket, is never replaced: ``EADDRINUSE``.
    - ``inheritable`` (the arbiter's sockets are shared with its workers); a single server
      passes False, so processes its application starts do not hold the port.
    """
    unix_path = getattr(interface, "unix_path", None)
    if unix_path is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            _remove_stale_unix_socket(unix_path)
            sock.bind(unix_path)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
    else:
        host, port = interface.host, interface.port
        infos = socket.getaddrinfo(host or None, port, socket.AF_UNSPEC, socket.SOCK_STREAM,
                                   0, socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            if os.name != "nt":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                if not reuse_port_supported():
                    raise OSError("SO_REUSEPORT is not available on this platform")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6 and ":" in (host or ""):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
    sock.set_inheritable(inheritable)
    return sock


UNIX_PROBE_TIMEOUT_S = 1.0
"""How long the stale-socket probe waits for a connect: a live server with a full backlog
still counts as live, and a start-up never hangs on it."""


def _remove_stale_unix_socket(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EADDRINUSE, f"{path} exists and is not a socket; refusing to "
                      "replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.settimeout(UNIX_PROBE_TIMEOUT_S)
        probe.connect(path)
    except OSError:
        os.unlink(path)  # nobody listens: a leftover of a dead server
    else:
        raise OSError(errno.EADDRINUSE, f"{path} is in use by another server")
    finally:
        probe.close()


def adopt_fd(fd: int) -> socket.socket:
    """A listening socket on a duplicate of inherited descriptor ``fd`` (family and type read
    from it); ``fd`` itself stays open and its owner's to close.

    Raises ``OSError`` when ``fd`` is not an open stream socket, or is not listening.
    """
    copy = -1
    try:
        copy = os.dup(fd)
        sock = socket.socket(fileno=copy)
    except OSError as exc:
        if copy >= 0:  # not a socket: the constructor left the duplicate open
            os.close(copy)
        raise OSError(f"fd://{fd} is not an open socket: {exc.strerror or exc}") from None
    if sock.type != socket.SOCK_STREAM:
        sock.close()
        raise OSError(f"fd://{fd} is not a stream socket")
    if not sock.getsockopt(socket.SOL_SOCKET, getattr(socket, "SO_ACCEPTCONN", 30)):
        sock.close()
        raise OSError(f"fd://{fd} is not listening; bind and listen before passing it")
    sock.set_inheritable(True)
    return sock


def listen_fds(unset_environment: bool = True, environ: Optional[dict] = None) -> List[socket.socket]:
    """Sockets passed by systemd socket activation, or ``[]`` when there are none for us.

    Follows sd_listen_fds(3): ``LISTEN_PID`` must be this process and ``LISTEN_FDS`` counts
    descriptors from 3 on. The variables are removed (``unset_environment``) so that child
    processes do not try to adopt the same descriptors again.
    """
    env = os.environ if environ is None else environ
    pid, count = env.get("LISTEN_PID"), env.get("LISTEN_FDS")
    if unset_environment:
        for name in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
            env.pop(name, None)
    if not count:
        return []
    if pid is not None and pid.strip() != str(os.getpid()):
        return []  # meant for another process (our parent or a sibling)
    try:
        n = int(count)
    except ValueError:
        raise OSError(f"LISTEN_FDS={count!r} is not a number") from None
    return [adopt_fd(fd) for fd in range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + n)]


def reserve_port(interface: Any) -> socket.socket:
    """A bound, *not listening* ``SO_REUSEPORT`` socket on ``interface`` (port 0 resolved).

    Only listening sockets join the kernel's SO_REUSEPORT group, so its holder keeps the
    address without ever being handed a connection, while workers bind their own sockets.
    """
    probe = bind_socket(interface, 0, reuse_port=True)
    address = probe.getsockname()
    sock = socket.socket(probe.family, probe.type)
    probe.close()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_interfaces(interfaces: Sequence[Any], backlog: int, reuse_port: bool = False
                    ) -> Tuple[List[socket.socket], List[Any], List[str]]:
    """Bind (or adopt, for ``fd://N``) every interface once, before workers are forked.

    Returns the sockets, the interfaces with the ports actually bound, and the unix socket
    paths created (to remove at exit). With ``reuse_port`` TCP interfaces only get their port
    reserved (:func:`reserve_port`); each worker then binds its own socket.
    """
    sockets: List[socket.socket] = []
    bound: List[Any] = []
    unix_paths: List[str] = []
    try:
        for interface in interfaces:
            if interface.fd is not None:
                sock = adopt_fd(interface.fd)
            elif reuse_port and interface.unix_path is None:
                sock = reserve_port(interface)
                interface = interface._replace(port=sock.getsockname()[1])
            else:
                sock = bind_socket(interface, backlog)
                if interface.unix_path is not None:
                    unix_paths.append(interface.unix_path)
                else:
                    interface = interface._replace(port=sock.getsockname()[1])
            sockets.append(sock)
            bound.append(interface)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets, bound, unix_paths


def reuse_port_sockets(interfaces: Sequence[Any], shared: Sequence[socket.socket],
                       backlog: int) -> List[socket.socket]:
    """One worker's sockets in reuse_port mode: its own listening socket for each TCP
    interface, the shared one for unix and ``fd://`` interfaces."""
    own = []
    for interface, sock in zip(interfaces, shared):
        if interface.fd is None and interface.unix_path is None:
            sock = bind_socket(interface, backlog, reuse_port=True)
        own.append(sock)
    return own
