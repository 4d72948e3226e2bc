"""Several processes: the arbiter (``arbiter``) forks worker processes (``child``) that each run
a single-process server the caller builds; ``launch`` is the one entry point, ``signals`` the
one signal queue, ``scoreboard`` the shared memory for heartbeats and figures, ``supervision``
the arbiter's small parts, ``stopping`` its bounded stop. Nothing here imports ``rocket.server``: it is handed
``build_server``."""
