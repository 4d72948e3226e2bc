"""``python -m rocket.bench COMMAND``: fetch, load, saturate, compare, profile-report, fuzz,
h2load, soak, parser."""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

# command -> (module with add_arguments(parser) and main(args) -> int, one-line help)
COMMANDS = {
    "fetch": ("rocket.bench.fetch", "one request: exact bytes, timings and framing"),
    "load": ("rocket.bench.load", "many clients for a time or a count: req/s and latency"),
    "saturate": ("rocket.bench.saturate", "open and hold N connections (the C10k check)"),
    "compare": ("rocket.bench.compare", "Rocket against every installed peer, side by side"),
    "profile-report": ("rocket.bench.profiling", "top functions of a cProfile stats file"),
    "fuzz": ("rocket.bench.fuzz", "differential fuzzing of the request parser (atheris)"),
    "h2load": ("rocket.bench.h2load", "HTTP/2 over TLS with h2load: Rocket h2 and h1, peers"),
    "soak": ("rocket.bench.soak", "a bounded mixed load watched for leaks: RSS, fds, threads"),
}
PARSER_BENCH = "rocket.bench.parser"  # the request-parser benchmark: main(argv) -> int


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command except ``parser``."""
    top = argparse.ArgumentParser(
        prog="python -m rocket.bench",
        description="Rocket's load tools. 'parser ...' runs the request-parser benchmark "
                    f"(python -m {PARSER_BENCH}).")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        importlib.import_module(module).add_arguments(p)
    sub.add_parser("parser", help="request-parser benchmark (its own options follow)",
                   add_help=False)
    return top


def main(argv: Optional[List[str]] = None) -> int:
    """Run one command; returns its exit code (2 on bad usage)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "parser":
        return importlib.import_module(PARSER_BENCH).main(argv[1:])
    args = build_parser().parse_args(argv)
    args.argv = argv
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return module.main(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
