"""The ``openssl``-made certificates (used where trustme cannot be installed, e.g. PyPy) work
with Rocket as trustme's do: server verified by hostname and IP, client certificate passed."""

from __future__ import annotations

import os
import shutil
import ssl

import pytest

from tests.certs import NAMES, with_openssl
from tests.functional.client import raw_get
from tests.functional.test_tls import whoami


@pytest.fixture(scope="module")
def openssl_files(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command")
    directory = str(tmp_path_factory.mktemp("openssl"))
    paths = {name: os.path.join(directory, name) for name in NAMES}
    return with_openssl(directory, paths), paths


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_openssl_certificates_serve_and_pass_the_client_cert(start_server, openssl_files, host):
    ca, paths = openssl_files
    server = start_server(whoami, interfaces=("127.0.0.1", 0, paths["key.pem"],
                                              paths["cert.pem"], paths["ca.pem"]))
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    ctx.load_cert_chain(paths["client.pem"], paths["client-key.pem"])
    status, body = raw_get(server.ports[0], host=host, context=ctx)
    assert status == b"HTTP/1.1 200 OK"
    scheme, https, pem = body.decode().split("\n", 2)
    with open(paths["client.pem"]) as f:
        assert ssl.PEM_cert_to_DER_cert(pem) == ssl.PEM_cert_to_DER_cert(f.read())
    assert (scheme, https) == ("https", "on")
