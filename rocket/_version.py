"""Rocket's version and server name, apart from the package root so that nothing inside
``rocket`` has to import the package itself (which imports the whole public API)."""

from typing import List, Optional

__version__ = "2.0.0.dev0"
SERVER_SOFTWARE = f"Rocket {__version__}"
"""The ``Server`` header and ``SERVER_SOFTWARE`` environ value."""


def maybe_conflicting_install(path: Optional[List[str]] = None) -> Optional[str]:
    """A warning when Rocket 1.x (distribution ``rocket``) is installed beside this one: both
    install the ``rocket`` package, so one's files overwrite the other's. None otherwise."""
    from importlib import metadata

    for dist in metadata.distributions(path=path) if path is not None else \
            metadata.distributions():
        name = (dist.metadata["Name"] or "").lower()
        version = dist.version or ""
        if name == "rocket" and version.startswith("1."):
            return (f"Rocket {version} (distribution 'rocket') is installed in this environment "
                    "too and shares the 'rocket' package with rocket-wsgi, so their files are "
                    "mixed; keep one: pip uninstall rocket rocket-wsgi && pip install rocket-wsgi")
    return None
