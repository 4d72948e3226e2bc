"""Rocket: a fast, strict, production-grade pure-Python WSGI server."""

__version__ = "2.0.0.dev0"
VERSION = __version__

__all__ = ["VERSION", "__version__"]
