"""TLS: trustme certificates, client certificates into the environ, a silent client blocks
nobody, plain HTTP on the TLS port harms nothing, bad files fail at construction, IPv6."""

from __future__ import annotations

import socket
import ssl
import threading
import time

import pytest

from rocket import Rocket
from rocket.config.settings import ConfigError
from tests.functional.client import raw_get, read_response, read_to_eof


def whoami(environ, start_response):
    body = "\n".join([
        environ["wsgi.url_scheme"],
        environ.get("HTTPS", "-"),
        environ.get("SSL_CLIENT_RAW_CERT", "-"),
    ]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def tls_interface(tls_files, *ca_certs, host="127.0.0.1"):
    """A Rocket interface tuple on port 0 with the test certificate (and client CA)."""
    return (host, 0, tls_files.key_path, tls_files.cert_path, *ca_certs)


def client_context(tls_files, with_cert=False):
    ctx = ssl.create_default_context()
    tls_files.ca.configure_trust(ctx)
    if with_cert:
        ctx.load_cert_chain(tls_files.client_cert_path, tls_files.client_key_path)
    return ctx


def test_https_request(start_server, tls_files):
    server = start_server(whoami, interfaces=tls_interface(tls_files))
    status, body = raw_get(server.ports[0], context=client_context(tls_files))
    assert status == b"HTTP/1.1 200 OK"
    assert body.split(b"\n") == [b"https", b"on", b"-"]


def test_client_certificate_reaches_the_app(start_server, tls_files):
    server = start_server(whoami, interfaces=tls_interface(tls_files, tls_files.ca_path))
    port = server.ports[0]
    _, body = raw_get(port, context=client_context(tls_files, with_cert=True))
    pem = body.split(b"\n", 2)[2].decode()
    assert ssl.PEM_cert_to_DER_cert(pem) == tls_files.client_cert_der
    _, body = raw_get(port, context=client_context(tls_files))  # client certificates are optional
    assert body.split(b"\n")[2] == b"-"


def test_requests_library_over_tls(start_server, tls_files):
    requests = pytest.importorskip("requests")
    server = start_server(whoami, interfaces=tls_interface(tls_files))
    with requests.Session() as session:
        for _ in range(3):  # keep-alive over TLS, through the monitor and back
            response = session.get(f"https://localhost:{server.ports[0]}/",
                                   verify=tls_files.ca_path, timeout=5)
            assert response.status_code == 200 and response.text.startswith("https")


@pytest.mark.parametrize("linger", [0, 0.001])
def test_keep_alive_over_tls_with_a_short_or_no_linger(start_server, tls_files, linger):
    """``linger = 0``: the worker reads the next request without waiting, which over TLS
    raises SSLWantReadError, not BlockingIOError; it must park the connection, not drop it."""
    server = start_server(whoami, interfaces=tls_interface(tls_files), linger=linger)
    raw = socket.create_connection(("127.0.0.1", server.ports[0]), timeout=5)
    with client_context(tls_files).wrap_socket(raw, server_hostname="localhost") as sock:
        for _ in range(3):
            sock.sendall(REQUEST)
            status, body = read_response(sock)
            assert status == b"HTTP/1.1 200 OK" and body.startswith(b"https")
            time.sleep(0.05)  # idle past the linger: parked in the monitor, then back


def test_silent_client_blocks_nobody(start_server, tls_files):
    server = start_server(whoami, interfaces=tls_interface(tls_files), min_threads=1,
                          max_threads=4, tls_handshake_timeout=2.0)
    port = server.ports[0]
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    try:
        t0 = time.monotonic()
        assert raw_get(port, context=client_context(tls_files))[0] == b"HTTP/1.1 200 OK"
        assert time.monotonic() - t0 < 1.5  # well before the silent ones time out
        silent[0].settimeout(5)
        assert silent[0].recv(100) == b""  # cut after tls_handshake_timeout
    finally:
        for sock in silent:
            sock.close()


def test_plain_http_on_the_tls_port_is_refused_harmlessly(start_server, tls_files):
    server = start_server(whoami, interfaces=tls_interface(tls_files))
    port = server.ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
        plain.sendall(REQUEST)
        data = read_to_eof(plain)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert raw_get(port, context=client_context(tls_files))[0] == b"HTTP/1.1 200 OK"


def test_http_and_https_listeners_in_one_server(start_server, tls_files):
    server = start_server(whoami, interfaces=[("127.0.0.1", 0), tls_interface(tls_files)])
    plain_port, tls_port = server.ports
    with socket.create_connection(("127.0.0.1", plain_port), timeout=5) as sock:
        sock.sendall(REQUEST)
        assert read_response(sock)[1].startswith(b"http\n")
    assert raw_get(tls_port, context=client_context(tls_files))[1].startswith(b"https\n")
    assert server.info()["listen"][1].endswith("*")


def test_missing_cert_file_is_a_clear_error_at_construction(tmp_path, tls_files):
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(ConfigError, match="certfile .*missing.pem.* does not exist"):
        Rocket(("127.0.0.1", 0, tls_files.key_path, missing), "wsgi", {"wsgi_app": whoami},
               handle_signals=False)
    with pytest.raises(ConfigError, match="cannot use certfile"):  # key and cert do not match
        Rocket(("127.0.0.1", 0, tls_files.client_key_path, tls_files.cert_path), "wsgi",
               {"wsgi_app": whoami}, handle_signals=False)
    assert not [t for t in threading.enumerate() if t.name.startswith("rocket")]


def test_ipv6_with_tls(start_server, tls_files):
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("IPv6 loopback not available")
    server = start_server(whoami, interfaces=tls_interface(tls_files, host="::1"))
    assert raw_get(server.ports[0], context=client_context(tls_files), host="::1")[0] == \
        b"HTTP/1.1 200 OK"
    assert server.info()["listen"][0].startswith("[::1]:")
