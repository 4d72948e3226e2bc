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
from tests.functional.test_lifecycle import read_response, read_to_eof


def whoami(environ, start_response):
    body = "\n".join([
        environ["wsgi.url_scheme"],
        environ.get("HTTPS", "-"),
        environ.get("SSL_CLIENT_RAW_CERT", "-"),
    ]).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def client_context(tls_files, with_cert=False):
    ctx = ssl.create_default_context()
    tls_files.ca.configure_trust(ctx)
    if with_cert:
        ctx.load_cert_chain(tls_files.client_cert_path, tls_files.client_key_path)
    return ctx


def tls_get(port, ctx, host="127.0.0.1"):
    with socket.create_connection((host, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as sock:
            sock.sendall(REQUEST)
            return read_response(sock)


def test_https_request(server_factory, tls_files):
    server = server_factory(("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path),
                            app_info={"wsgi_app": whoami})
    status, body = tls_get(server.ports[0], client_context(tls_files))
    assert status == b"HTTP/1.1 200 OK"
    assert body.split(b"\n") == [b"https", b"on", b"-"]


def test_client_certificate_reaches_the_app(server_factory, tls_files):
    server = server_factory(("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path,
                             tls_files.ca_path), app_info={"wsgi_app": whoami})
    port = server.ports[0]
    _, body = tls_get(port, client_context(tls_files, with_cert=True))
    pem = body.split(b"\n", 2)[2].decode()
    assert ssl.PEM_cert_to_DER_cert(pem) == tls_files.client_cert_der
    _, body = tls_get(port, client_context(tls_files))  # client certificates are optional
    assert body.split(b"\n")[2] == b"-"


def test_requests_library_over_tls(server_factory, tls_files):
    requests = pytest.importorskip("requests")
    server = server_factory(("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path),
                            app_info={"wsgi_app": whoami})
    with requests.Session() as session:
        for _ in range(3):  # keep-alive over TLS, through the monitor and back
            response = session.get(f"https://localhost:{server.ports[0]}/",
                                   verify=tls_files.ca_path, timeout=5)
            assert response.status_code == 200 and response.text.startswith("https")


def test_silent_client_blocks_nobody(server_factory, tls_files):
    server = server_factory(("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path),
                            app_info={"wsgi_app": whoami}, min_threads=1, max_threads=4,
                            tls_handshake_timeout=2.0)
    port = server.ports[0]
    silent = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    try:
        t0 = time.monotonic()
        assert tls_get(port, client_context(tls_files))[0] == b"HTTP/1.1 200 OK"
        assert time.monotonic() - t0 < 1.5  # well before the silent ones time out
        silent[0].settimeout(5)
        assert silent[0].recv(100) == b""  # cut after tls_handshake_timeout
    finally:
        for sock in silent:
            sock.close()


def test_plain_http_on_the_tls_port_is_refused_harmlessly(server_factory, tls_files):
    server = server_factory(("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path),
                            app_info={"wsgi_app": whoami})
    port = server.ports[0]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as plain:
        plain.sendall(REQUEST)
        data = read_to_eof(plain)
    assert data.startswith(b"HTTP/1.1 400 ")
    assert tls_get(port, client_context(tls_files))[0] == b"HTTP/1.1 200 OK"


def test_http_and_https_listeners_in_one_server(server_factory, tls_files):
    server = server_factory([("127.0.0.1", 0),
                             ("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path)],
                            app_info={"wsgi_app": whoami})
    plain_port, tls_port = server.ports
    with socket.create_connection(("127.0.0.1", plain_port), timeout=5) as sock:
        sock.sendall(REQUEST)
        assert read_response(sock)[1].startswith(b"http\n")
    assert tls_get(tls_port, client_context(tls_files))[1].startswith(b"https\n")
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


def test_ipv6_with_tls(server_factory, tls_files):
    try:
        probe = socket.socket(socket.AF_INET6)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("IPv6 loopback not available")
    server = server_factory(("::1", 0, tls_files.key_path, tls_files.cert_path),
                            app_info={"wsgi_app": whoami})
    assert tls_get(server.ports[0], client_context(tls_files), host="::1")[0] == \
        b"HTTP/1.1 200 OK"
    assert server.info()["listen"][0].startswith("[::1]:")
