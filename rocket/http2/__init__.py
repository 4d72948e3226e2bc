"""HTTP/2 (RFC 9113) for the WSGI server, through the optional ``http2`` extra (``h2``).

Imported only when HTTP/2 is on (the ``http2`` setting): the HTTP/1 request loop offers a
connection whose first bytes are the HTTP/2 preface (``PRI * HTTP/2.0``, sent by a client
that negotiated ``h2`` through TLS ALPN or speaks h2c with prior knowledge) to
:meth:`rocket.http2.hub.HTTP2.take`, which starts an :class:`~rocket.http2.session.H2Session`
on it. Only :mod:`rocket.http2.session` imports ``h2``.
"""

PREFACE_LINE = b"PRI * HTTP/2.0\r\n\r\n"
"""The start of the client preface (RFC 9113 §3.4) that the HTTP/1 parser consumed."""

__all__ = ["PREFACE_LINE"]
