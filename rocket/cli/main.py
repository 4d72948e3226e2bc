"""The ``rocket`` command: ``rocket [OPTIONS] MODULE:APP`` (also ``python -m rocket``).

Every flag comes from the settings table (see :mod:`rocket.config.argv`), so the command line,
``ROCKET_<NAME>`` variables, the ``--config`` TOML file and the README cannot drift apart.
A mistake prints one line on standard error, never a traceback, and exits with:

- 0 success (``--check-config``, ``--version``, a clean stop),
- 1 the server could not start (address in use, permission denied, unusable TLS file),
- 2 usage: unknown option, bad value, contradiction, missing file,
- 3 the application could not be imported.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
from typing import Any, List, Optional, Sequence, Tuple

from rocket._version import __version__, maybe_conflicting_install
from rocket.appimport import AppImportError, load_app
from rocket.config.argv import ArgumentParser, UsageError, add_setting_flags, given_settings
from rocket.config.settings import Interface, Setting
from rocket.config.sources import (
    RawSource,
    Resolved,
    SourceError,
    all_settings,
    build_config,
    resolve,
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_APP = 3

PROG = "rocket"

TLS_FILES = ("certfile", "keyfile", "ca_certs")

def build_parser() -> argparse.ArgumentParser:
    """The argparse parser: the command's own flags, then one per settings row
    (:mod:`rocket.config.argv`), values kept as strings for the converters."""
    parser = ArgumentParser(
        prog=PROG, allow_abbrev=False, argument_default=argparse.SUPPRESS,
        description="Serve a WSGI application. Settings may also come from ROCKET_<NAME> "
                    "environment variables and a TOML file (--config); precedence is "
                    "command line > environment > file > defaults.",
        epilog="Exit codes: 0 ok, 1 cannot start (address in use...), 2 usage, 3 app import.")
    parser.add_argument("app", nargs="?", metavar="MODULE:APP",
                        help="the WSGI application, e.g. myproject.wsgi:application or "
                             "pkg.app:create_app()")
    parser.add_argument("-c", "--config", metavar="FILE",
                        help="TOML file of settings (or ROCKET_CONFIG)")
    parser.add_argument("--check-config", action="store_true",
                        help="print the resolved settings as TOML and exit")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--settings-markdown", action="store_true",
                        help="print every setting as a markdown table (the README's) and exit")
    add_setting_flags(parser, setting_rows())
    return parser


def setting_rows() -> List[Setting]:
    """The rows that are flags: every setting but the positional ``app``."""
    return [s for s in all_settings() if s.name != "app"]


def parse_args(argv: Sequence[str]) -> Tuple[argparse.Namespace, RawSource]:
    """Parse ``argv``; returns the namespace and the settings given, labelled by their flag."""
    namespace = build_parser().parse_args(list(argv))
    raw = given_settings(namespace, setting_rows())
    app = getattr(namespace, "app", None)
    if app is not None:
        raw["app"] = (app, "MODULE:APP")
    return namespace, raw


def toml_value(value: Any) -> str:
    """A setting's value as TOML (``bind`` as strings, None as a commented-out line's text)."""
    if isinstance(value, Interface):  # metrics_bind
        return json.dumps(bind_string(value))
    if isinstance(value, tuple) and value and isinstance(value[0], Interface):
        return "[" + ", ".join(json.dumps(bind_string(i)) for i in value) + "]"
    if isinstance(value, tuple) and value and isinstance(value[0], tuple):  # static mounts
        return "[" + ", ".join(static_toml(m) for m in value) + "]"
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if callable(value):  # a hook: printed as the MODULE:NAME that would load it
        return json.dumps(f"{value.__module__}:{getattr(value, '__qualname__', value)}")
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))


def static_toml(mount: Tuple[Any, ...]) -> str:
    """One static mount: ``"URL=DIR"``, or ``["URL", "DIR", {options}]`` when it has options
    (an inline table keeps them, so the printed file serves the same)."""
    url = mount[0] or "/"
    if len(mount) < 3 or not mount[2]:
        return json.dumps(f"{url}={mount[1]}")
    options = ", ".join(f"{name} = {toml_value(value)}" for name, value in mount[2].items())
    return f"[{json.dumps(url)}, {json.dumps(str(mount[1]))}, {{{options}}}]"


def bind_string(interface: Interface) -> str:
    """An interface as its ``--bind`` form: its log form without the TLS mark (TLS files are
    separate settings)."""
    return interface._replace(certfile=None).describe()


def render_settings(resolved: Resolved, config: Any) -> str:
    """The resolved settings as a TOML document, each explicit one commented with its origin."""
    lines = [f"# rocket {__version__}: resolved settings "
             "(command line > environment > file > defaults)"]
    for setting in all_settings():
        name = setting.name
        if name == "threads":
            continue  # folded into min_threads and max_threads, printed there
        value = getattr(config, name, resolved.values.get(name))
        if name in ("access_log", "access_log_format", "app") or not hasattr(config, name):
            value = resolved.values[name]
        origin = resolved.origin.get(name)
        comment = f"  # from {origin}" if origin else ""
        if value is None and name == "access_log":
            lines.append(f'{name} = "off"{comment}')
        elif value is None:
            lines.append(f"# {name} is not set{comment}")
        else:
            lines.append(f"{name} = {toml_value(value)}{comment}")
    return "\n".join(lines)


def check_tls_files(resolved: Resolved) -> None:
    """A TLS file that does not exist is a usage error naming the option and the path."""
    for name in TLS_FILES:
        path = resolved.values.get(name)
        if path is not None and not os.path.isfile(path):
            raise SourceError(f"{resolved.origin.get(name, name)}: no such file: {path}")


def _error(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            namespace, raw = parse_args(args)
        except SystemExit as exc:  # --help printed its text
            return int(exc.code or 0)
        if getattr(namespace, "version", False):
            print(f"{PROG} {__version__}")
            return EXIT_OK
        conflict = maybe_conflicting_install()
        if conflict:
            print(f"{PROG}: warning: {conflict}", file=sys.stderr)
        if getattr(namespace, "settings_markdown", False):
            from rocket.config.docs import settings_markdown

            print(settings_markdown())
            return EXIT_OK
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())  # MODULE:NAME settings (hooks, the app) load from here
        config_file = getattr(namespace, "config", None) or os.environ.get("ROCKET_CONFIG")
        resolved = resolve(raw, os.environ, config_file)
        config = build_config(resolved)
        check_tls_files(resolved)
        if getattr(namespace, "check_config", False):
            print(render_settings(resolved, config))
            return EXIT_OK
        if resolved.values["app"] is None and not resolved.values["static"]:
            raise UsageError("missing MODULE:APP (the application to serve), e.g. "
                             "rocket myproject.wsgi:application")
    except (UsageError, SourceError) as exc:
        return _error(str(exc), EXIT_USAGE)
    if resolved.values["reload"]:
        from rocket.cli.reload import run_reloader

        return run_reloader(args, resolved, main, config_file)
    return serve_resolved(resolved)


def serve_resolved(resolved: Resolved) -> int:
    """Import the app, set up logging and serve until stopped; returns the exit code."""
    from rocket import accesslog

    try:
        return _serve_resolved(resolved)
    finally:
        accesslog.uninstall()  # flushes; main() may run again in this process (tests)


def _serve_resolved(resolved: Resolved) -> int:
    from rocket.cli.logsetup import LogSetupError, setup_logging
    from rocket.process.arbiter import wants_arbiter

    values = resolved.values
    multi_process = wants_arbiter(values["workers"], values["max_requests"], values["concurrency"])
    app = None  # with worker processes, each one imports the app (run_workers)
    if not multi_process and values["app"] is not None:
        try:
            app = load_app(values["app"])
        except AppImportError as exc:
            if exc.__cause__ is None:
                return _error(str(exc), EXIT_APP)
            if values["log_level"] != "debug":
                return _error(f"{exc}; --log-level debug shows the whole traceback", EXIT_APP)
            import traceback

            traceback.print_exception(type(exc.__cause__), exc.__cause__,
                                      exc.__cause__.__traceback__)
            return _error(str(exc), EXIT_APP)
    try:
        setup_logging(resolved)
    except LogSetupError as exc:
        return _error(str(exc), EXIT_USAGE)
    if values["umask"] is not None:
        os.umask(values["umask"])
    if multi_process:
        return run_workers(resolved)
    return run_server(app, resolved)  # Rocket puts the ``static`` mounts in front of app


START_ERRNOS = {errno.EADDRINUSE: "address already in use",
                errno.EACCES: "permission denied",
                errno.EADDRNOTAVAIL: "address not available on this host"}
"""bind() failures a user can fix, and the words used for them."""


def run_server(app: Any, resolved: Resolved) -> int:
    """Serve ``app`` with the resolved settings until a signal stops it."""
    from rocket.config.settings import ConfigError
    from rocket.server.wsgi import Server

    kwargs = resolved.config_kwargs()
    kwargs.setdefault("handle_signals", True)  # Server's default is False (embedded use)
    try:
        server = Server(app, **kwargs)
        server.banner = resolved.values["log_config"] is None  # else logging is the user's
        server.start()  # its signal handlers are in place before any bind
    except ConfigError as exc:
        return _error(str(exc), EXIT_FAILURE)
    except OSError as exc:
        return _error(describe_start_error(exc, resolved), EXIT_FAILURE)
    return EXIT_OK


def run_workers(resolved: Resolved) -> int:
    """``--workers N`` > 1 (or ``--max-requests``, which needs a process to replace the worker):
    the arbiter binds and forks N processes; each imports the app (never the arbiter, so a
    SIGHUP reload imports fresh code)."""
    from rocket.config.settings import ConfigError
    from rocket.process.launch import app_loader, launch
    from rocket.server.banner import announce_arbiter
    from rocket.server.info import arbiter_info
    from rocket.server.wsgi import build_server

    try:
        return launch(resolved.config_kwargs(), build_server, app_loader(resolved.values["app"]),
                      describe=arbiter_info,
                      ready=announce_arbiter if resolved.values["log_config"] is None else None)
    except ConfigError as exc:
        return _error(str(exc), EXIT_USAGE)
    except OSError as exc:
        return _error(describe_start_error(exc, resolved), EXIT_FAILURE)


def describe_start_error(exc: OSError, resolved: Resolved) -> str:
    """One line for a failed bind, naming the address that failed."""
    words = START_ERRNOS.get(exc.errno or 0, exc.strerror or str(exc))
    address = maybe_failing_address(exc, resolved.values["bind"])
    if address is None:
        address = ", ".join(bind_string(i) for i in resolved.values["bind"])
    return f"cannot listen on {address}: {words}"


def maybe_failing_address(exc: OSError, binds: Sequence[Interface]) -> Optional[str]:
    """Which bind fails with ``exc``'s errno when tried alone (the listener does not say)."""
    if len(binds) == 1:
        return bind_string(binds[0])
    from rocket.net.binding import bind_socket

    for interface in binds:
        if interface.unix_path is not None:
            continue  # probing would replace a stale socket file: not ours to do here
        try:
            bind_socket(interface, 1).close()
        except OSError as probe:
            if probe.errno == exc.errno:
                return bind_string(interface)
    return None


def run() -> None:
    """Console-script entry point: ``sys.exit(main())``; Ctrl-C before serving exits 130."""
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130  # 128 + SIGINT, as shells report it
    sys.exit(code)


if __name__ == "__main__":
    run()
