"""``python -m rocket.bench saturate HOST:PORT -c N``: the C10k check.

It opens N connections at once (raising the soft fd limit to the hard one, and never past
it), holds them idle, and meanwhile sends one normal request on a fresh connection: a server
that pins a thread to every idle connection fails that request. After the hold it reports
how many held connections the server kept open, and sends a request on each of them to see
whether the server still serves every one.
"""

from __future__ import annotations

import argparse
import errno
import os
import selectors
import socket
import sys
import time
from typing import Dict, List, Optional

from rocket.bench.fetch import fetch
from rocket.bench.loadspec import raise_fd_limit
from rocket.bench.stats import fmt_ms, print_result
from rocket.bench.target import Target, parse_hostport
from rocket.http.client import ResponseParser, format_request
from rocket.http.errors import HTTPError
from rocket.http.events import NEED_DATA, ConnectionClosed, EndOfMessage

FD_MARGIN = 64  # descriptors kept free for the probe connection, imports and stdio


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``saturate``."""
    p.add_argument("address", help="HOST:PORT")
    p.add_argument("-c", "--connections", type=int, default=1000, help="connections (1000)")
    p.add_argument("--connect-timeout", type=float, default=10.0,
                   help="seconds allowed for all connections to come up (10)")
    p.add_argument("--hold", type=float, default=2.0, help="seconds to hold them idle (2)")
    p.add_argument("--path", default="/", help="path of the probe requests (/)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per probe (5)")
    p.add_argument("--no-serve-check", dest="serve_check", action="store_false",
                   help="do not send a request on every held connection at the end")
    p.add_argument("--json", metavar="FILE", help="also write the result as JSON ('-' = stdout)")


def _count_error(failed: Dict[str, int], err: int) -> None:
    name = errno.errorcode.get(err, str(err))
    failed[name] = failed.get(name, 0) + 1


def _open_all(host: str, port: int, n: int, timeout_s: float) -> dict:
    sel = selectors.DefaultSelector()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    failed: Dict[str, int] = {}
    connected: List[socket.socket] = []
    t0 = time.perf_counter()
    last_ok = t0
    for _ in range(n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((host, port))
        if err in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            sel.register(s, selectors.EVENT_WRITE)
        else:
            _count_error(failed, err)
            s.close()
    deadline = t0 + timeout_s
    while sel.get_map() and time.perf_counter() < deadline:
        for key, _ in sel.select(min(0.2, max(0.0, deadline - time.perf_counter()))):
            s = key.fileobj
            sel.unregister(s)
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                _count_error(failed, err)
                s.close()
            else:
                connected.append(s)
                last_ok = time.perf_counter()
    pending = [key.fileobj for key in list(sel.get_map().values())]
    for s in pending:
        sel.unregister(s)
        s.close()
    sel.close()
    took = last_ok - t0
    return {"socks": connected, "failed": failed, "pending": len(pending), "took_s": took}


def _still_open(socks: List[socket.socket]) -> Dict[str, List[socket.socket]]:
    """Split held sockets into open / closed-by-server / reset, without blocking."""
    out: Dict[str, List[socket.socket]] = {"open": [], "closed": [], "reset": []}
    for s in socks:
        try:
            data = s.recv(1, socket.MSG_PEEK)
            out["open" if data else "closed"].append(s)
        except (BlockingIOError, InterruptedError):
            out["open"].append(s)
        except OSError:
            out["reset"].append(s)
    return out


def _serve_check(socks: List[socket.socket], request: bytes, timeout_s: float) -> int:
    """Send ``request`` on every socket; return how many complete responses came back."""
    sel = selectors.DefaultSelector()
    parsers = {}
    for s in socks:
        try:
            s.send(request)  # a small request fits an empty send buffer in one call
        except OSError:
            continue
        p = ResponseParser()
        p.expect(b"GET")
        parsers[s] = p
        sel.register(s, selectors.EVENT_READ)
    ok = 0
    deadline = time.perf_counter() + timeout_s
    while sel.get_map() and time.perf_counter() < deadline:
        for key, _ in sel.select(0.2):
            s = key.fileobj
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            p = parsers[s]
            p.feed(data)
            done = not data
            try:
                while True:
                    ev = p.next_event()
                    if ev is NEED_DATA:
                        break
                    if isinstance(ev, EndOfMessage):
                        ok += 1
                        done = True
                        break
                    if isinstance(ev, ConnectionClosed):
                        done = True
                        break
            except HTTPError:
                done = True
            if done:
                sel.unregister(s)
    sel.close()
    return ok


def saturate(host: str, port: int, connections: int, connect_timeout_s: float = 10.0,
             hold_s: float = 2.0, path: str = "/", timeout_s: float = 5.0,
             serve_check: bool = True) -> dict:
    """Run the check and return the result dict (the ``--json`` document)."""
    limit = raise_fd_limit(connections + FD_MARGIN)
    wanted = connections
    connections = max(1, min(connections, limit - FD_MARGIN))
    opened = _open_all(host, port, connections, connect_timeout_s)
    socks: List[socket.socket] = opened["socks"]
    target = Target(host, port, path.encode("latin-1"))
    probe: Dict[str, object] = {}
    try:
        hold_end = time.perf_counter() + hold_s
        try:
            r = fetch(target, timeout_s=timeout_s)
            probe = {"ok": r.complete and r.response is not None,
                     "status": r.response.status if r.response else None,
                     "latency_ms": round(r.total_s * 1000, 3)}
        except (OSError, HTTPError) as e:
            probe = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        time.sleep(max(0.0, hold_end - time.perf_counter()))
        state = _still_open(socks)
        served: Optional[int] = None
        if serve_check:
            request = format_request("GET", path, [("Host", target.host_header)])
            served = _serve_check(state["open"], request, timeout_s)
    finally:
        for s in socks:
            s.close()
    took = opened["took_s"]
    return {
        "address": f"{host}:{port}", "requested": wanted, "attempted": connections,
        "fd_limit": limit, "connected": len(socks), "failed": opened["failed"],
        "pending": opened["pending"], "connect_s": round(took, 3),
        "connect_rate": round(len(socks) / took, 1) if took > 0 else None,
        "held_open": len(state["open"]), "closed_by_server": len(state["closed"]),
        "reset_by_server": len(state["reset"]), "hold_s": hold_s,
        "probe": probe, "served_after_hold": served,
    }


def format_report(res: dict) -> str:
    """The human-readable report of ``saturate``."""
    failed = ", ".join(f"{k} {n}" for k, n in res["failed"].items()) or "0"
    rate = f"{res['connect_rate']:.0f}/s" if res["connect_rate"] else "-"
    lines = [
        f"Connections  {res['requested']} requested, {res['attempted']} attempted"
        f" (fd limit {res['fd_limit']})",
        f"Accepted     {res['connected']} in {res['connect_s']:.3f} s ({rate}); failed {failed};"
        f" still pending {res['pending']}",
        f"After hold   {res['held_open']} still open, {res['closed_by_server']} closed by the"
        f" server, {res['reset_by_server']} reset ({res['hold_s']:.1f} s idle)",
    ]
    p = res["probe"]
    if p.get("ok"):
        lines.append(f"Probe        a new request got {p['status']} in {fmt_ms(p['latency_ms'])} ms"
                     " while the connections were held")
    else:
        lines.append("Probe        FAILED: a new request got no answer while the connections"
                     f" were held ({p.get('error', 'incomplete response')})")
    if res["served_after_hold"] is not None:
        lines.append(f"Served       {res['served_after_hold']} of {res['held_open']} held"
                     " connections answered a request afterwards")
    return "\n".join(lines)


def main(a: argparse.Namespace) -> int:
    """Entry point of ``saturate``: 0 when the probe request got through, else 1."""
    try:
        host, port = parse_hostport(a.address)
    except ValueError as e:
        print(f"saturate: {e}", file=sys.stderr)
        return 2
    if a.connections < 1:
        print("saturate: -c must be at least 1", file=sys.stderr)
        return 2
    print(f"Saturate: {a.connections} connections to {host}:{port}, hold {a.hold:.1f} s"
          f" (pid {os.getpid()})", file=sys.stderr)
    res = saturate(host, port, a.connections, a.connect_timeout, a.hold, a.path, a.timeout,
                   a.serve_check)
    print_result(format_report(res), res, a.json)
    return 0 if res["probe"].get("ok") else 1
