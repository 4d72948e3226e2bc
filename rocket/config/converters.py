"""Converters of the settings that need more than a number: on/off values, byte counts with
a size suffix, and the per-mount options of a ``static`` mount written as text (``/=DIR;display_index``).

Byte counts read ``65536``, ``64K``, ``64KiB`` (powers of 1024: K, M, G, KiB, MiB, GiB) or
``10MB`` (powers of 1000: KB, MB, GB), in the API, on the command line, in ``ROCKET_*``
variables and in TOML alike, because the one converter of the row reads them all.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Dict, Optional, Tuple

__all__ = ["to_bool", "byte_count", "optional_hook", "format_bytes", "static_mount_text",
           "STATIC_OPTION_CONVERTERS", "non_negative_int", "non_negative_float", "byte_rate",
           "positive_int", "optional_path", "optional_str", "concurrency_mode",
           "optional_url_path"]

SIZE_UNITS = {
    "": 1, "b": 1,
    "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30,
    "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9,
}
"""Suffix (lower case) -> bytes: binary for K/KiB, M/MiB, G/GiB; decimal for KB, MB, GB."""

_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def to_bool(value: Any) -> bool:
    """True/False, or the strings yes/no, true/false, on/off, 1/0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _BOOLS:
        return _BOOLS[value.strip().lower()]
    raise ValueError(f"{value!r} is not a boolean")


_BOOLS = {"1": True, "yes": True, "true": True, "on": True,
          "0": False, "no": False, "false": False, "off": False}


def byte_count(value: Any) -> int:
    """A byte count >= 0 such as 65536, 512KiB, 64K, 10MB or 1G (K, M, G = 1024-based).

    ``KiB``/``K``, ``MiB``/``M`` and ``GiB``/``G`` are powers of 1024; ``KB``, ``MB`` and
    ``GB`` are powers of 1000; case does not matter. A fraction is allowed when the result is
    a whole number of bytes (``1.5K`` = 1536).
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a byte count")
    if isinstance(value, int):
        number = value
    else:
        match = _SIZE.fullmatch(str(value))
        unit = SIZE_UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None:
            raise ValueError(f"invalid byte count {value!r}")
        exact = float(match.group(1)) * unit
        if exact != int(exact):
            raise ValueError(f"{value!r} is not a whole number of bytes")
        number = int(exact)
    if number < 0:
        raise ValueError(f"{number} is negative")
    return number


def format_bytes(number: int) -> str:
    """``1073741824`` -> ``1GiB``, ``65536`` -> ``64KiB``, ``8190`` -> ``8190``: the shortest
    exact binary form, as the help and the README show defaults."""
    for suffix, unit in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if number and number % unit == 0:
            return f"{number // unit}{suffix}"
    return str(number)


def optional_hook(value: Any) -> Optional[Callable[..., Any]]:
    """A callable or MODULE:NAME (imported now, so a typo fails at start), or None."""
    if value is None or value == "":
        return None
    if callable(value):
        return value  # type: ignore[no-any-return]
    module_name, sep, attr = str(value).strip().partition(":")
    if not (module_name and sep and attr):
        raise ValueError(f"{value!r} is neither a callable nor MODULE:NAME")
    import importlib

    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"module {module_name!r} has no {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"{value!r} is not callable")
    return target  # type: ignore[no-any-return]


def _text(value: Any) -> str:
    return str(value)


STATIC_OPTION_CONVERTERS: Dict[str, Callable[[Any], Any]] = {
    "display_index": to_bool,
    "cache_control": _text,
    "follow_symlinks": to_bool,
    "show_dotfiles": to_bool,
    "precompressed": to_bool,
    "cache_bytes": byte_count,
}
"""How the text form reads each option of ``rocket.static.files.STATIC_OPTIONS``."""


def static_mount_text(spec: str) -> Tuple[str, Dict[str, Any]]:
    """``"URL=DIR;display_index;cache_control=public, max-age=60"`` -> ``("URL=DIR", options)``.

    A bare option name means true; ``name=value`` is converted by the option's type.
    """
    head, *parts = spec.split(";")
    options: Dict[str, Any] = {}
    for part in parts:
        name, sep, raw = part.partition("=")
        name = name.strip()
        if not name:
            continue
        converter = STATIC_OPTION_CONVERTERS.get(name)
        if converter is None:
            known = ", ".join(STATIC_OPTION_CONVERTERS)
            raise ValueError(f"static mount {spec!r}: unknown option {name!r}; known: {known}")
        try:
            options[name] = converter(raw.strip()) if sep else True
        except ValueError as exc:
            raise ValueError(f"static mount {spec!r}: option {name}: {exc}") from None
    return head, options


def non_negative_int(value: Any) -> int:
    """An integer >= 0."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    number = int(value)
    if number < 0:
        raise ValueError(f"{number} is negative")
    return number


def non_negative_float(value: Any) -> float:
    """A number of seconds >= 0."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    number = float(value)
    if not number >= 0:
        raise ValueError(f"{number} is negative")
    return number


def byte_rate(value: Any) -> float:
    """A rate in bytes per second >= 0."""
    return non_negative_float(value)


def positive_int(value: Any) -> int:
    """An integer >= 1."""
    number = non_negative_int(value)
    if number < 1:
        raise ValueError(f"{number} is less than 1")
    return number


def optional_path(value: Any) -> Optional[str]:
    """A file path, or None."""
    if value is None or value == "":
        return None
    return os.fspath(value)


def optional_str(value: Any) -> Optional[str]:
    """A string, or None."""
    return None if value is None else str(value)


CONCURRENCY_MODES = ("thread", "process")


def auto_switch(value: Any) -> str:
    """Auto, true or false (also yes/no, on/off, 1/0)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    try:
        return "true" if to_bool(value) else "false"
    except ValueError:
        raise ValueError(f"{value!r} is none of auto, true, false") from None


def concurrency_mode(value: Any) -> str:
    """Thread or process."""
    mode = str(value).strip().lower()
    if mode not in CONCURRENCY_MODES:
        raise ValueError(f"{value!r} is neither thread nor process")
    return mode


def optional_url_path(value: Any) -> Optional[str]:
    """A URL path starting with /, e.g. /healthz, or None."""
    if value is None or value == "":
        return None
    path = str(value).strip()
    if not path.startswith("/") or any(c in path for c in " ?#\r\n\t"):
        raise ValueError(f"{value!r} is not a URL path such as /healthz")
    return path
