"""Static files: a directory served as a WSGI app (``files``), mounted in front of an
application (``mounts``, which imports ``files`` and never the reverse), with safe path mapping
(``paths``), byte ranges (``ranges``), validators and conditional requests (``validators``) and
a bounded response cache (``cache``)."""
