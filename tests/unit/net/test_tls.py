"""rocket.net.tls: the server SSLContext, and the one-line ConfigError for each bad input."""

from __future__ import annotations

import socket
import ssl
import threading

import pytest

from rocket.config.settings import ConfigError, Interface
from rocket.net.tls import make_tls_context


def test_context_serves_a_real_handshake_and_asks_for_optional_client_certs(tls_files):
    plain = make_tls_context(Interface("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path))
    assert plain.verify_mode == ssl.CERT_NONE
    ctx = make_tls_context(Interface("127.0.0.1", 0, tls_files.key_path, tls_files.cert_path,
                                     tls_files.ca_path))
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    server = socket.create_server(("127.0.0.1", 0))
    seen = {}

    def accept_one():
        conn, _ = server.accept()
        with ctx.wrap_socket(conn, server_side=True) as tls:
            seen["peer"] = tls.getpeercert()
            tls.sendall(b"ok")

    thread = threading.Thread(target=accept_one)
    thread.start()
    client_ctx = ssl.create_default_context(cafile=tls_files.ca_path)
    client_ctx.load_cert_chain(tls_files.client_cert_path, tls_files.client_key_path)
    try:
        with socket.create_connection(server.getsockname(), timeout=5) as raw, \
                client_ctx.wrap_socket(raw, server_hostname="127.0.0.1") as client:
            assert client.recv(2) == b"ok"
    finally:
        thread.join(5)
        server.close()
    assert seen["peer"]["subject"]


def test_each_bad_input_names_the_interface_and_the_file(tmp_path, tls_files):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    key, cert = tls_files.key_path, tls_files.cert_path
    cases = [
        (Interface("127.0.0.1", 8443, str(tmp_path / "nokey.pem"), cert), {},
         r"interface 127\.0\.0\.1:8443: keyfile .*nokey\.pem.* does not exist"),
        (Interface("127.0.0.1", 8443, key, str(tmp_path / "nocert.pem")), {},
         r"certfile .*nocert\.pem.* does not exist"),
        (Interface("127.0.0.1", 8443, key, str(garbage)), {}, "cannot use certfile"),
        (Interface("127.0.0.1", 8443, key, cert, str(garbage)), {}, "cannot load ca_certs"),
        (Interface("127.0.0.1", 8443, key, cert), {"ciphers": "NO-SUCH-CIPHER"},
         "ciphers 'NO-SUCH-CIPHER'"),
    ]
    for interface, kwargs, message in cases:
        with pytest.raises(ConfigError, match=message):
            make_tls_context(interface, **kwargs)
