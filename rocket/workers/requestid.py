"""The ``request_id`` setting: one id per request, passed to the app and echoed to the client.

An incoming ``X-Request-ID`` is kept only from a trusted peer (``forwarded_allow_ips``: a
proxy that set it) and only when it is 1-128 characters of ``[A-Za-z0-9._:-]``, so it is safe
in logs and headers; otherwise the server makes one up. Generated ids are a random per-process
prefix and a counter: unique across processes and restarts, and cheaper than a UUID per
request.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Any, Dict, Optional

__all__ = ["RequestIds", "VALID_ID"]

VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")
"""What an incoming id must look like to be kept."""

KEY = "HTTP_X_REQUEST_ID"


class RequestIds:
    """Assigns ids; ``assign(env, trusted)`` returns the id it put in ``env``."""

    def __init__(self) -> None:
        self._reseed()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reseed)

    def _reseed(self) -> None:
        self._prefix = os.urandom(6).hex() + "-"
        self._counter = itertools.count(1)

    def new(self) -> str:
        """A fresh id such as ``3f9a0c1b7e2d-1a``."""
        return f"{self._prefix}{next(self._counter):x}"

    def assign(self, env: Dict[str, Any], trusted: bool) -> str:
        """Keep a valid incoming id from a trusted peer, else set a new one; returns it."""
        incoming: Optional[str] = env.get(KEY)
        if incoming is not None and trusted and VALID_ID.match(incoming):
            return incoming
        env[KEY] = rid = self.new()
        return rid
