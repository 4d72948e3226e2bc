"""Workers: what the server does with a connection, chosen by Rocket's ``method`` argument.

A *method* names a :class:`~rocket.workers.base.Worker` subclass. ``'wsgi'`` (the WSGI
application worker) and ``'fs'`` (the static file worker) are built in and imported only when
first asked for; anything else is added with :func:`register_method`. Names are
case-insensitive, as in Rocket (``method='WSGI'`` works).
"""

from __future__ import annotations

import importlib
from typing import Dict, Type

__all__ = ["register_method", "get_worker_class", "registered_methods"]

# Built-in methods, resolved lazily so that importing the registry imports no worker module
# (and so that a module that is not installed breaks only the method that needs it).
_BUILTIN: Dict[str, str] = {
    "wsgi": "rocket.workers.wsgi:WSGIWorker",
    "fs": "rocket.workers.fs:FileSystemWorker",
}

_REGISTRY: Dict[str, type] = {}


def register_method(name: str, cls: type) -> None:
    """Make ``cls`` (a Worker subclass) the worker for ``method=name``; replaces any earlier one."""
    from rocket.workers.base import Worker

    if not (isinstance(cls, type) and issubclass(cls, Worker)):
        raise TypeError(f"method {name!r}: {cls!r} is not a subclass of rocket.workers.Worker")
    if not isinstance(name, str) or not name:
        raise ValueError(f"method name must be a non-empty str, got {name!r}")
    _REGISTRY[name.lower()] = cls


def get_worker_class(name: str) -> Type:
    """Return the Worker class registered for ``name`` (case-insensitive).

    Raises ``ValueError`` naming the known methods when ``name`` is unknown.
    """
    key = str(name).lower()
    cls = _REGISTRY.get(key)
    if cls is not None:
        return cls
    target = _BUILTIN.get(key)
    if target is None:
        known = ", ".join(sorted(set(_REGISTRY) | set(_BUILTIN)))
        raise ValueError(f"unknown method {name!r}; known methods: {known}")
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    _REGISTRY.setdefault(key, cls)
    return _REGISTRY[key]


def registered_methods() -> list:
    """Sorted names of every method that :func:`get_worker_class` accepts."""
    return sorted(set(_REGISTRY) | set(_BUILTIN))


def __getattr__(name: str):
    # ``from rocket.workers import Worker, WorkerContext, WSGIWorker`` without importing them
    # eagerly (PEP 562).
    if name in ("Worker", "HTTPWorker", "WorkerContext"):
        from rocket.workers import base

        return getattr(base, name)
    if name == "WSGIWorker":
        return get_worker_class("wsgi")
    if name == "FileWrapper":
        from rocket.workers.filewrapper import FileWrapper

        return FileWrapper
    raise AttributeError(f"module 'rocket.workers' has no attribute {name!r}")
