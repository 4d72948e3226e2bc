"""The command line as a settings source: argparse flags generated from the settings rows.

One builder serves the ``rocket`` command (:mod:`rocket.cli.main`, over every row of
:func:`rocket.config.sources.all_settings`) and SocketServer scripts
(:func:`rocket.server.sockets.settings_from_argv`, over the rows of
:data:`rocket.config.settings.SETTINGS`), so the two accept the same flags for the same
settings. Each row is ``--max-threads VALUE`` (booleans ``--reload/--no-reload``), ``bind``
and ``static`` repeat, Rocket's aliases are flags too (``--timeout``). Values stay as given;
the rows' converters run later, so an error names the flag that carried the bad value.
"""

from __future__ import annotations

import argparse
from typing import Any, Dict, List, Optional, Sequence

from rocket.config.settings import ALIASES, SETTINGS, SETTINGS_BY_NAME, Setting
from rocket.config.sources import (
    REPEATABLE,
    RawSource,
    SourceError,
    canonical,
    convert_value,
    flag_name,
    is_bool,
)

SHORT_FLAGS = {"bind": "-b"}
"""gunicorn's short form of the flag typed most."""

METAVARS = {"bind": "ADDRESS", "static": "URL=DIR"}
"""Placeholders that read better than the upper-cased name."""

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


def negative_flag(setting: Setting) -> Optional[str]:
    """``--no-NAME`` for booleans and :data:`OFF_VALUES` rows, else None."""
    if is_bool(setting) or setting.name in OFF_VALUES:
        return flag_name("no_" + setting.name)
    return None


def flag_aliases(name: str) -> List[str]:
    """Rocket's names for setting ``name`` that are flags too (``timeout`` for keep_alive)."""
    return [alias for alias, target in ALIASES.items()
            if target == name and alias not in UNFLAGGED_ALIASES]


def add_setting_flags(parser: argparse.ArgumentParser, rows: Sequence[Setting]) -> None:
    """One flag per row, with its ``--no-`` form and aliases; a flag not given sets nothing."""
    for setting in rows:
        name = setting.name
        flags = [SHORT_FLAGS[name], flag_name(name)] if name in SHORT_FLAGS else [flag_name(name)]
        text = setting.help.replace("%", "%%")
        negative = negative_flag(setting)
        if is_bool(setting):
            parser.add_argument(*flags, dest=name, action="store_true", help=text, **UNSET)
        else:
            if name in REPEATABLE and "repeatable" not in text:
                text += " (repeatable)"
            parser.add_argument(*flags, dest=name, metavar=METAVARS.get(name, name.upper()),
                                action="append" if name in REPEATABLE else "store", help=text,
                                **UNSET)
        if negative is not None:
            off: Dict[str, Any] = ({"action": "store_false"} if is_bool(setting) else
                                   {"action": "store_const", "const": OFF_VALUES[name]})
            parser.add_argument(negative, dest=name, help=argparse.SUPPRESS, **off, **UNSET)
        for alias in flag_aliases(name):
            parser.add_argument(flag_name(alias), dest=alias, metavar=name.upper(),
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
