"""Sockets: binding (``binding``, the one binder), TLS contexts (``tls``), the accepting threads
(``listener``), one client connection (``connection``, the only code that calls recv, send or
sendfile) and the monitor that holds every connection waiting on its client (``monitor``)."""
