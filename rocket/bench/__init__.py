"""Rocket's load tools (``python -m rocket.bench COMMAND``), the asynwsgi heritage.

- ``fetch URL``: one request, with the exact bytes (``--raw``), timings and framing;
- ``load URL``: many selector-driven clients (``engine``) in one or more processes;
- ``saturate HOST:PORT -c N``: hold N connections and check a new request still gets through;
- ``compare``: Rocket against every installed peer on the standard scenarios (``apps``);
- ``profile-report FILE``: top functions of a ``--profile`` stats file (``profiling``);
- ``parser``: the request-parser micro-benchmark (``rocket.bench.parser``).

Everything here speaks HTTP through the sans-I/O client of ``rocket.http.client``.
"""
