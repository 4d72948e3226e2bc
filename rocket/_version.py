"""Rocket's version and server name, apart from the package root so that nothing inside
``rocket`` has to import the package itself (which imports the whole public API)."""

__version__ = "2.0.0.dev0"
SERVER_SOFTWARE = f"Rocket {__version__}"
"""The ``Server`` header and ``SERVER_SOFTWARE`` environ value."""
