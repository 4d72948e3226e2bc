"""Settings: the one table (``settings``) that drives the Python API, the command-line flags
(``argv``), the ``ROCKET_*`` environment variables and the TOML file (``sources``), and the
README's settings table (``docs``)."""
