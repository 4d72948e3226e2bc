"""Servers: the lifecycle shared by every server (``lifecycle``: start, stop, restart, drain,
figures), the WSGI server (``wsgi``: Rocket, Server, serve), the generic socket server
(``sockets``), the thread pool (``threadpool``), connection and request hooks (``hooks``),
signals of a single-process server (``signals``), ``info()`` (``info``) and ``--profile``
(``profile``)."""
