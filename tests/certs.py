"""Test certificates: a CA, a server certificate for 127.0.0.1/localhost/::1 and a client
certificate, made with trustme when it is importable, else with the ``openssl`` command (PyPy,
where trustme's ``cryptography`` may not install). Both give the same files, so the TLS tests
run either way instead of being skipped."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from typing import Dict, NamedTuple


class TLSFiles(NamedTuple):
    """Paths of the PEM files, the CA (``ca.configure_trust(ctx)``) and the client's DER."""

    ca: object
    ca_path: str
    cert_path: str
    key_path: str
    client_cert_path: str
    client_key_path: str
    client_cert_der: bytes


class FileCA:
    """The part of ``trustme.CA`` the tests use, for a CA made by ``openssl``."""

    def __init__(self, ca_path: str) -> None:
        self.ca_path = ca_path

    def configure_trust(self, ctx: ssl.SSLContext) -> None:
        """Make ``ctx`` trust this CA."""
        ctx.load_verify_locations(cafile=self.ca_path)


NAMES = ("ca.pem", "cert.pem", "key.pem", "client.pem", "client-key.pem")


def make_tls_files(directory: str) -> TLSFiles:
    """Write the five PEM files into ``directory``; RuntimeError when neither trustme nor
    ``openssl`` is available."""
    paths = {name: os.path.join(directory, name) for name in NAMES}
    try:
        import trustme
    except ImportError:
        ca = with_openssl(directory, paths)
    else:
        ca = with_trustme(trustme, paths)
    with open(paths["client.pem"]) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return TLSFiles(ca, paths["ca.pem"], paths["cert.pem"], paths["key.pem"],
                    paths["client.pem"], paths["client-key.pem"], der)


def with_trustme(trustme, paths: Dict[str, str]) -> object:
    ca = trustme.CA()
    server_cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    client_cert = ca.issue_cert("client@example.com")
    ca.cert_pem.write_to_path(paths["ca.pem"])
    server_cert.cert_chain_pems[0].write_to_path(paths["cert.pem"])
    server_cert.private_key_pem.write_to_path(paths["key.pem"])
    client_cert.cert_chain_pems[0].write_to_path(paths["client.pem"])
    client_cert.private_key_pem.write_to_path(paths["client-key.pem"])
    return ca


CA_EXT = ("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
          "subjectKeyIdentifier=hash\n")
LEAF_EXT = ("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,"
            "keyEncipherment\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
            "subjectAltName={san}\nextendedKeyUsage={usage}\n")


def with_openssl(directory: str, paths: Dict[str, str]) -> FileCA:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("TLS tests need trustme or the openssl command")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True, timeout=30)

    def sign(name: str, key: str, subject: str, ext: str, serial: int) -> None:
        csr = os.path.join(directory, name + ".csr")
        ext_path = os.path.join(directory, name + ".ext")
        with open(ext_path, "w") as f:
            f.write(ext)
        run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
        run("req", "-new", "-key", key, "-subj", subject, "-out", csr)
        issuer = (["-signkey", key] if name == "ca.pem" else
                  ["-CA", paths["ca.pem"], "-CAkey", ca_key, "-set_serial", str(serial)])
        run("x509", "-req", "-in", csr, *issuer, "-days", "2", "-sha256",
            "-extfile", ext_path, "-out", paths[name])

    ca_key = os.path.join(directory, "ca-key.pem")
    sign("ca.pem", ca_key, "/O=Rocket tests/CN=Rocket test CA", CA_EXT, 1)
    sign("cert.pem", paths["key.pem"], "/O=Rocket tests/CN=localhost",
         LEAF_EXT.format(san="IP:127.0.0.1,DNS:localhost,IP:::1", usage="serverAuth"), 2)
    sign("client.pem", paths["client-key.pem"], "/O=Rocket tests/CN=client@example.com",
         LEAF_EXT.format(san="email:client@example.com", usage="clientAuth"), 3)
    return FileCA(paths["ca.pem"])
