"""Where settings come from: the command line, ``ROCKET_<NAME>`` variables and a TOML file.

The rows of :data:`rocket.config.settings.SETTINGS` (plus the few command-line rows of
:data:`CLI_SETTINGS`) are the only list of names: each one is a flag ``--max-threads``
(booleans ``--reload/--no-reload``; built by :mod:`rocket.config.argv`), a TOML key
``max_threads`` and a variable ``ROCKET_MAX_THREADS``. :func:`resolve` merges them, command line over environment over file
over defaults, converting every value with its row's converter and naming where a bad value
came from (``--max-threads``, ``ROCKET_MAX_THREADS``, ``rocket.toml: max_threads``).

The TOML file holds the settings at its top level, or all of them inside one ``[rocket]``
table (so they can share a file with other tools); unknown keys are errors. Unknown
``ROCKET_*`` variables are ignored: the prefix is shared with other software (the Rust Rocket
framework reads ``ROCKET_PORT``), so a strict check would break unrelated environments.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple

from rocket.accesslog import ATOMS as ACCESS_ATOMS
from rocket.accesslog import access_log_format
from rocket.appimport import parse_spec
from rocket.config.converters import byte_count, format_bytes, optional_hook
from rocket.config.settings import (
    ALIASES,
    SETTINGS,
    SETTINGS_BY_NAME,
    ConfigError,
    Interface,
    Setting,
    byte_rate,
    non_negative_float,
    non_negative_int,
    optional_path,
    optional_str,
    to_bool,
    to_interfaces,
)
from rocket.logs import COMBINED_FORMAT


class SourceError(Exception):
    """A setting from the command line, environment or file is bad; ``str()`` is one line."""


LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def log_level(value: Any) -> str:
    """One of critical, error, warning, info, debug."""
    level = str(value).strip().lower()
    if level not in LOG_LEVELS:
        raise ValueError(f"unknown log level {value!r}")
    return level


def access_log_target(value: Any) -> Optional[str]:
    """FILE, '-' (standard output) or off."""
    if isinstance(value, bool):
        return "-" if value else None
    text = str(value).strip()
    if not text:
        raise ValueError("empty access log target")
    if text.lower() in ("off", "none", "false", "no"):
        return None
    return text


def atoms_of(fmt: str) -> str:
    """An access-log format written with the short atoms (``%(h)s``), as users write it."""
    fmt = fmt.replace("[%(time)s]", "%(t)s")
    for atom, field in ACCESS_ATOMS.items():
        fmt = fmt.replace(f"%({field})", f"%({atom})")
    return fmt


def umask(value: Any) -> Optional[int]:
    """An octal mask such as 077 or 0o077."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a mask")
    number = value if isinstance(value, int) else int(str(value).strip(), 8)
    if not 0 <= number <= 0o777:
        raise ValueError(f"{oct(number)} is outside 0-0o777")
    return number


def app_spec(value: Any) -> Optional[str]:
    """MODULE:APP or MODULE:FACTORY(...)."""
    if value is None:
        return None
    text = str(value).strip()
    parse_spec(text)  # the loader's own check: a malformed spec is a usage error, found early
    return text


def thread_range(value: Any) -> Optional[Tuple[int, Optional[int]]]:
    """MIN[:MAX], e.g. 4 or 4:32."""
    if value is None:
        return None
    low, sep, high = str(value).strip().partition(":")
    numbers = (non_negative_int(low), non_negative_int(high) if sep else None)
    if numbers[0] < 1:
        raise ValueError(f"MIN is {numbers[0]}; at least 1 thread must serve")
    if numbers[1] and numbers[0] > numbers[1]:
        raise ValueError(f"MIN {numbers[0]} exceeds MAX {numbers[1]}")
    return numbers


REPEATABLE = ("bind", "static")
"""Settings given once per value on the command line and comma-separated in variables."""


CLI_SETTINGS: List[Setting] = [
    Setting("app", app_spec, None, "the WSGI application to serve, as MODULE:APP or "
            "MODULE:FACTORY() (positional on the command line)"),
    Setting("access_log", access_log_target, "-",
            "where the CLI writes the access log: FILE, '-' for standard output, or off "
            "(the Python API takes a bool)", "logging"),
    Setting("access_log_format", access_log_format, COMBINED_FORMAT,
            "access-log line: atoms %(h)s client, %(l)s -, %(u)s -, %(t)s [time], %(r)s request "
            "line, %(s)s status, %(b)s size, %(f)s referer, %(a)s user agent, %(D)s request "
            "time in us, %(p)s pid, %(request_id)s, %(forwarded_for)s, %(tls_version)s; or "
            "json (one object per line, keyed by the long names); Apache combined by default "
            "on the command line", "logging"),
    Setting("threads", thread_range, None,
            "MIN[:MAX] worker threads, shorthand for min_threads and max_threads (MAX "
            "omitted = max_threads' default); MIN is at least 1", "threads and processes"),
    Setting("log_level", log_level, "info", "level of the CLI's log on standard error: critical, error, warning, info or debug",
            "logging"),
    Setting("log_config", optional_path, None,
            "logging.config.dictConfig file (.json or .toml) replacing the CLI's handlers",
            "logging"),
    Setting("umask", umask, None,
            "octal umask set before binding, so it shapes unix socket permissions", "binding"),
    Setting("reload", to_bool, False,
            "restart when a source file changes (development only; uses watchfiles when "
            "installed, else polls)", "development"),
]
"""Settings the command line adds; rows with the name of a table row replace it for the CLI."""

CLI_ONLY = frozenset(s.name for s in CLI_SETTINGS) - frozenset(s.name for s in SETTINGS)
"""Names that are not ``Config`` keys (``access_log`` is: the CLI passes it on as a bool)."""

CLI_OVERRIDES = frozenset(s.name for s in CLI_SETTINGS) - CLI_ONLY
"""Config keys whose CLI default differs from the API's, so the CLI always passes them on."""

FORMS = {
    to_interfaces: "HOST:PORT, [IPV6]:PORT, unix:PATH or fd://N",
    non_negative_int: "an integer >= 0",
    non_negative_float: "a number of seconds >= 0",
    byte_rate: "bytes per second >= 0",
    to_bool: "true or false",
    byte_count: "bytes, e.g. 65536, 512KiB, 10MB or 1G (K, M, G and KiB, MiB, GiB are powers "
                "of 1024; KB, MB, GB of 1000)",
    optional_hook: "MODULE:NAME (or a callable in the API)",
    optional_path: "a file path",
    optional_str: "a string",
    str: "a string",
}
"""How each shared converter's accepted form reads in an error line."""


def default_text(setting: Setting, compat: bool = False) -> str:
    """A row's default in the user's terms (``127.0.0.1:8000``, ``1GiB``, ``false``, ``unset``),
    the same on every platform: what ``--help`` and the README show (``compat``: the
    compatibility APIs' default)."""
    value = setting.default_for(compat)
    if setting.name in PLATFORM_DEFAULTS:
        return PLATFORM_DEFAULTS[setting.name]
    if setting.name == "threads":
        return f"{SETTINGS_BY_NAME['min_threads'].default}:{SETTINGS_BY_NAME['max_threads'].default}"
    if setting.name == "access_log_format":
        return atoms_of(value)
    if value is None:
        return "unset"
    if value == ():
        return "none"
    if isinstance(value, tuple) and isinstance(value[0], Interface):
        return ", ".join(i.describe() for i in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if setting.converter is byte_count:
        return format_bytes(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


PLATFORM_DEFAULTS = {"backlog": "the kernel's maximum (SOMAXCONN)"}
"""Defaults that depend on the platform, shown by what they mean."""


def all_settings() -> List[Setting]:
    """The table the command line uses: Config's rows (CLI rows replacing same names), then CLI rows."""
    overrides = {s.name: s for s in CLI_SETTINGS}
    rows = [overrides.pop(s.name, s) for s in SETTINGS]
    return rows + [s for s in CLI_SETTINGS if s.name in overrides]


def flag_name(name: str) -> str:
    """``max_threads`` -> ``--max-threads``."""
    return "--" + name.replace("_", "-")


def env_name(name: str) -> str:
    """``max_threads`` -> ``ROCKET_MAX_THREADS``."""
    return "ROCKET_" + name.upper()


def is_bool(setting: Setting) -> bool:
    """True for on/off settings (``--flag/--no-flag`` on the command line)."""
    return setting.converter is to_bool


def accepted_form(setting: Setting) -> str:
    """The accepted form of a setting's values, for error lines and docs."""
    form = FORMS.get(setting.converter)
    if form is None:
        doc = (setting.converter.__doc__ or setting.help).strip().splitlines()[0]
        form = doc.rstrip(".")
        first = form.split()[0] if form else ""
        if first[:1].isupper() and (len(first) == 1 or first[1:].islower()):
            form = form[0].lower() + form[1:]  # "An integer" reads as "expected an integer"
    return form


class Resolved(NamedTuple):
    """Settings after merging: converted ``values`` and, per explicit name, its ``origin`` label."""

    values: Dict[str, Any]
    origin: Dict[str, str]

    def config_kwargs(self) -> Dict[str, Any]:
        """The explicitly set ``Config`` keys (CLI-only rows removed, access_log as a bool)."""
        kwargs = {k: v for k, v in self.values.items()
                  if (k in self.origin or k in CLI_OVERRIDES) and k not in CLI_ONLY}
        if "access_log" in kwargs:
            kwargs["access_log"] = kwargs["access_log"] is not None
        return kwargs


RawSource = Dict[str, Tuple[Any, str]]
"""name -> (raw value, label naming where it came from)."""


def canonical(raw: RawSource, where: str) -> RawSource:
    """Fold Rocket's aliases (``timeout`` -> ``keep_alive``) and ``threads`` (-> min_threads
    and max_threads) within one source, where giving both forms is a contradiction."""
    for alias, name in ALIASES.items():
        if alias in raw:
            if name in raw:
                raise SourceError(f"{where}: give either {raw[alias][1]} or {raw[name][1]}, "
                                  "not both")
            raw[name] = raw.pop(alias)
    if "threads" in raw:
        value, label = raw.pop("threads")
        for name in ("min_threads", "max_threads"):
            if name in raw:
                raise SourceError(f"{where}: give either {label} or {raw[name][1]}, not both")
        rows = {s.name: s for s in CLI_SETTINGS}
        numbers = convert_value(rows["threads"], value, label)
        if numbers is not None:
            raw["min_threads"] = (numbers[0], label)
            if numbers[1] is not None:  # MIN alone keeps max_threads' default bound
                raw["max_threads"] = (numbers[1], label)
    return raw


def from_environ(environ: Mapping[str, str]) -> RawSource:
    """``ROCKET_<NAME>`` variables of the known settings (``bind`` splits on commas)."""
    names = [s.name for s in all_settings()] + list(ALIASES)
    raw: RawSource = {}
    for name in names:
        var = env_name(name)
        if var in environ:
            value: Any = environ[var]
            if ALIASES.get(name, name) in REPEATABLE:
                value = [part for part in value.replace(",", " ").split() if part]
            raw[name] = (value, var)
    return canonical(raw, "environment")


def read_toml(path: str) -> Dict[str, Any]:
    """Parse a TOML file (``tomllib`` on 3.11+, ``tomli`` below); errors are one line."""
    try:
        import tomllib  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # Python < 3.11
        try:
            import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            raise SourceError(f"{path}: reading TOML needs the 'tomli' package on Python < 3.11 "
                              "(pip install tomli)") from None
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)  # type: ignore[no-any-return]
    except OSError as exc:
        raise SourceError(f"cannot read config file {path!r}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{path}: invalid TOML: {exc}") from None


def from_toml(path: str) -> RawSource:
    """Settings from a TOML file: top-level keys, or all inside one ``[rocket]`` table."""
    doc = read_toml(path)
    label = os.path.basename(path)
    if isinstance(doc.get("rocket"), dict):
        others = sorted(k for k in doc if k != "rocket")
        if others:
            raise SourceError(f"{label}: key {others[0]!r} is outside the [rocket] table; "
                              "put every setting inside [rocket] or none")
        doc = doc["rocket"]
    known = {s.name for s in all_settings()} | set(ALIASES)
    raw: RawSource = {}
    for key, value in doc.items():
        if key not in known:
            hint = " (use underscores)" if key.replace("-", "_") in known else ""
            raise SourceError(f"{label}: unknown setting {key!r}{hint}")
        raw[key] = (value, f"{label}: {key}")
    return canonical(raw, label)


def convert_value(setting: Setting, value: Any, label: str) -> Any:
    """Run a row's converter; a failure becomes a SourceError naming ``label`` and the form."""
    try:
        return setting.converter(value)
    except (TypeError, ValueError) as exc:
        detail = str(exc)
        if detail.startswith(("invalid literal", "could not convert", "int()", "float()")):
            detail = f"invalid value {value!r}"
        raise SourceError(f"{label}: {detail} (expected {accepted_form(setting)})") from None


def resolve(cli: RawSource, environ: Mapping[str, str],
            config_file: Optional[str] = None) -> Resolved:
    """Merge the sources, command line > environment > file > defaults, converting each value."""
    merged: RawSource = {}
    if config_file:
        merged.update(from_toml(config_file))
    merged.update(from_environ(environ))
    merged.update(canonical(dict(cli), "command line"))
    values: Dict[str, Any] = {}
    origin: Dict[str, str] = {}
    for setting in all_settings():
        if setting.name in merged:
            raw, label = merged[setting.name]
            values[setting.name] = convert_value(setting, raw, label)
            origin[setting.name] = label
        else:
            values[setting.name] = setting.default
    return Resolved(values, origin)


def build_config(resolved: Resolved) -> Any:
    """The server's ``Config`` for these settings; contradictions raise SourceError."""
    from rocket.config.settings import Config

    try:
        return Config(**resolved.config_kwargs())
    except ConfigError as exc:
        raise SourceError(str(exc)) from None


def level_number(name: str) -> int:
    """``'info'`` -> ``logging.INFO``."""
    return int(getattr(logging, name.upper()))
