"""Server-side TLS: the ``SSLContext`` of a TLS interface, loaded once and checked early.

:func:`make_tls_context` runs when a server is built (and in each listener), so a missing or
unusable key, certificate, CA bundle or cipher string is a ``ConfigError`` naming the
interface and the file, never a server that silently falls back to plain HTTP. Client
certificates are optional (``CERT_OPTIONAL``) when ``ca_certs`` is given: the application
sees them in the environ and decides. ``alpn`` lists the protocols offered through ALPN
(``h2, http/1.1`` when HTTP/2 is on). ``ssl`` is imported only when TLS is used.
"""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence

from rocket.config.settings import ConfigError, Interface

__all__ = ["make_tls_context"]


def make_tls_context(interface: Interface, ciphers: Optional[str] = None,
                     alpn: Sequence[str] = ()) -> Any:
    """A server ``SSLContext`` for ``interface``; raises ConfigError naming the bad file."""
    import ssl

    where = f"interface {interface.host}:{interface.port}"
    for label, path in (("certfile", interface.certfile), ("keyfile", interface.keyfile),
                        ("ca_certs", interface.ca_certs)):
        if path is not None and not os.path.isfile(path):
            raise ConfigError(f"{where}: {label} {path!r} does not exist or is not a file")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        ctx.load_cert_chain(interface.certfile, interface.keyfile)  # type: ignore[arg-type]
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError(f"{where}: cannot use certfile {interface.certfile!r} with keyfile "
                          f"{interface.keyfile!r}: {exc}") from None
    if interface.ca_certs:
        try:
            ctx.load_verify_locations(cafile=interface.ca_certs)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(f"{where}: cannot load ca_certs {interface.ca_certs!r}: {exc}") from None
        ctx.verify_mode = ssl.CERT_OPTIONAL
    if ciphers:
        try:
            ctx.set_ciphers(ciphers)
        except ssl.SSLError as exc:
            raise ConfigError(f"{where}: ciphers {ciphers!r}: {exc}") from None
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx
