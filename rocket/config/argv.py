"""The command line as a settings source: argparse flags generated from the settings rows.

One builder serves the ``rocket`` command (:mod:`rocket.cli.main`, over every row of
:func:`rocket.config.sources.all_settings`) and SocketServer scripts
(:func:`rocket.server.sockets.settings_from_argv`, over the rows of
:data:`rocket.config.settings.SETTINGS`), so the two accept the same flags for the same
settings. Each row is ``--max-threads N`` (booleans ``--reload/--no-reload``), ``bind``
and ``static`` repeat, Rocket's aliases are flags too (``--timeout``). Values stay as given;
the rows' converters run later, so an error names the flag that carried the bad value.

``--help`` lists the flags in the sections of :data:`rocket.config.settings.GROUPS` (each
row names its own), each with its default in the user's terms. A mistyped option is refused
before anything else is read, with the closest known one (``did you mean --threads?``), so
its value is never taken for the application.
"""

from __future__ import annotations

import argparse
import difflib
from typing import Any, Dict, List, Optional, Sequence

from rocket.config.converters import byte_count, optional_hook
from rocket.config.settings import (
    ALIASES,
    GROUPS,
    SETTINGS,
    SETTINGS_BY_NAME,
    Setting,
    byte_rate,
    concurrency_mode,
    non_negative_float,
    non_negative_int,
    optional_path,
    positive_int,
)
from rocket.config.sources import (
    REPEATABLE,
    RawSource,
    SourceError,
    canonical,
    convert_value,
    default_text,
    flag_name,
    is_bool,
    thread_range,
)

SHORT_FLAGS = {"bind": "-b"}
"""gunicorn's short form of the flag typed most."""

METAVARS = {"bind": "ADDRESS", "static": "URL=DIR[;OPTION...]", "access_log": "FILE|-|off",
            "access_log_format": "FORMAT", "log_level": "LEVEL", "umask": "MASK",
            "server_name": "NAME", "body_min_rate": "BYTES_PER_S", "send_min_rate": "BYTES_PER_S",
            "forwarded_allow_ips": "ADDRESSES", "forwarded_headers": "x-forwarded|forwarded",
            "proxy_protocol": "off|v1|v2|auto", "health_path": "PATH",
            "metrics_bind": "HOST:PORT", "http2": "auto|true|false"}
"""Placeholders that read better than the upper-cased name."""

CONVERTER_METAVARS = {byte_count: "SIZE", non_negative_float: "SECONDS", byte_rate: "BYTES/S", non_negative_int: "N",
                      positive_int: "N", optional_path: "FILE", optional_hook: "MODULE:NAME",
                      thread_range: "MIN[:MAX]", concurrency_mode: "thread|process"}
"""Placeholders by the kind of value a row takes."""

OFF_VALUES = {"access_log": "off"}
"""Non-boolean rows with a ``--no-NAME`` flag, and the value it stands for."""

UNFLAGGED_ALIASES = frozenset({"interfaces"})
"""Rocket's names that get no flag: ``--bind`` is the one spelling of an address."""

UNSET = {"default": argparse.SUPPRESS}
"""A flag not given leaves no attribute, so only the settings given reach the sources."""


class UsageError(SourceError):
    """A command-line mistake; ``str()`` is the one line printed after ``PROG: error:``."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose mistakes raise :class:`UsageError` instead of printing usage and exiting."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        """Raise the mistake as one line (an unknown flag points to ``--help``)."""
        hint = f" (see {self.prog} --help)" if "unrecognized" in message else ""
        raise UsageError(message + hint)

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """argparse's, after refusing any unknown ``--option`` with the closest known one."""
        if args is not None:
            refuse_unknown_options(self, args)
        return super().parse_known_args(args, namespace)


def refuse_unknown_options(parser: argparse.ArgumentParser, args: Sequence[str]) -> None:
    """Raise :class:`UsageError` for the first option of ``args`` that ``parser`` does not know,
    naming the closest one it does (``--threds`` -> ``did you mean --threads?``)."""
    known = parser._option_string_actions
    expects_value = False
    for arg in args:
        if arg == "--":
            return
        if expects_value or not arg.startswith("-") or arg == "-" or arg[1:2].isdigit():
            expects_value = False
            continue
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg[:2]
        action = known.get(name)
        if action is not None:
            expects_value = action.nargs is None and name == arg
            continue
        target = flag_name(ALIASES.get(name[2:].replace("-", "_"), "-"))
        close = [target] if target in known else difflib.get_close_matches(
            name, [o for o in known if o.startswith("--")], n=1)
        hint = f"; did you mean {close[0]}?" if close else f" (see {parser.prog} --help)"
        raise UsageError(f"unrecognized option {name}{hint}")


def negative_flag(setting: Setting) -> Optional[str]:
    """``--no-NAME`` for booleans and :data:`OFF_VALUES` rows, else None."""
    if is_bool(setting) or setting.name in OFF_VALUES:
        return flag_name("no_" + setting.name)
    return None


def flag_aliases(name: str) -> List[str]:
    """Rocket's names for setting ``name`` that are flags too (``timeout`` for keep_alive)."""
    return [alias for alias, target in ALIASES.items()
            if target == name and alias not in UNFLAGGED_ALIASES]


def metavar(setting: Setting) -> str:
    """The placeholder of a row's value in ``--help``: ``SIZE``, ``SECONDS``, ``N``..."""
    return METAVARS.get(setting.name) or CONVERTER_METAVARS.get(setting.converter,
                                                                setting.name.upper())


def add_setting_flags(parser: argparse.ArgumentParser, rows: Sequence[Setting]) -> None:
    """One flag per row, with its ``--no-`` form and aliases, listed in the row's section of
    :data:`GROUPS`; a flag not given sets nothing."""
    sections = {title: parser.add_argument_group(title) for title in GROUPS}
    for setting in rows:
        name = setting.name
        section: Any = sections.get(setting.group, parser)
        flags = [SHORT_FLAGS[name], flag_name(name)] if name in SHORT_FLAGS else [flag_name(name)]
        text = setting.help
        if name in REPEATABLE and "repeatable" not in text:
            text += " (repeatable)"
        text = f"{text} [default: {default_text(setting)}]".replace("%", "%%")
        negative = negative_flag(setting)
        if is_bool(setting):
            section.add_argument(*flags, dest=name, action=argparse.BooleanOptionalAction,
                                 help=text, **UNSET)
        else:
            section.add_argument(*flags, dest=name, metavar=metavar(setting),
                                 action="append" if name in REPEATABLE else "store", help=text,
                                 **UNSET)
            if negative is not None:
                section.add_argument(negative, dest=name, action="store_const",
                                     const=OFF_VALUES[name], help=f"same as {flags[-1]} "
                                     f"{OFF_VALUES[name]}", **UNSET)
        for alias in flag_aliases(name):
            section.add_argument(flag_name(alias), dest=alias, metavar=metavar(setting),
                                 help=f"alias of {flag_name(name)} (Rocket's name)", **UNSET)


def given_settings(namespace: argparse.Namespace, rows: Sequence[Setting]) -> RawSource:
    """The values of ``rows`` (and their aliases) found in ``namespace``, labelled by flag."""
    names = {s.name for s in rows}
    names |= {alias for alias, name in ALIASES.items() if name in names}
    return {name: (value, flag_name(name)) for name, value in vars(namespace).items()
            if name in names}


def settings_parser(prog: Optional[str] = None,
                    description: Optional[str] = None) -> ArgumentParser:
    """The parser of a SocketServer script: a flag for every row of the settings table."""
    parser = ArgumentParser(prog=prog, description=description, allow_abbrev=False)
    add_setting_flags(parser, SETTINGS)
    return parser


def parse_settings(parser: argparse.ArgumentParser, argv: Sequence[str]) -> Dict[str, Any]:
    """The settings given in ``argv`` to a :func:`settings_parser`, converted by their rows
    (aliases folded).

    A mistake raises :class:`rocket.config.sources.SourceError` (a :class:`UsageError` for
    argparse's own) naming the flag; ``--help`` prints the help and exits 0.
    """
    raw = canonical(given_settings(parser.parse_args(list(argv)), SETTINGS), "command line")
    return {name: convert_value(SETTINGS_BY_NAME[name], value, label)
            for name, (value, label) in raw.items()}
