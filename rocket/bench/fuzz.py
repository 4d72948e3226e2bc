"""``python -m rocket.bench fuzz --minutes N``: a differential fuzzing campaign through atheris.

Each fuzz input drives :mod:`rocket.bench.fuzzgen` (its first byte odd: structured requests,
the rest of the input choosing every spelling) or is fed as it is (first byte even: raw
bytes, which libFuzzer mutates from seeds of ordinary requests). Both go through
:func:`rocket.bench.differential.compare`. Rocket's parser modules are instrumented, so
libFuzzer steers towards inputs that reach new parser code.

The campaign runs in a child process (libFuzzer ends a process with ``exit()``), which writes
the smallest input of each finding bucket to ``--out``; the parent then prints one line per
bucket and whether it is :data:`KNOWN` (a documented, deliberate difference: see
``docs/reliability.md``) or new. Exit status: 0 when every finding is known, 1 otherwise,
2 when atheris (the ``fuzz`` extra, CPython only) is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ["KNOWN", "add_arguments", "main", "triage"]

# (parser, pattern of its error) -> why Rocket accepting that input is right. An ``accepts``
# finding is known when each other parser's error matches an entry.
KNOWN: Sequence[Tuple[str, str, str]] = (
    ("llhttp", r"Invalid method encountered",
     "any token is a method, case-sensitive (RFC 9110 9.1); llhttp knows a fixed list"),
    ("llhttp", r"Invalid HTTP version",
     "HTTP/1.2 and up are answered as 1.1 (RFC 9110 2.5)"),
    ("llhttp", r"Invalid `Transfer-Encoding` header value|Request has invalid `Transfer-Enc",
     "OWS around a field value is not part of it (RFC 9110 5.5)"),
    ("llhttp", r"Invalid character in chunk (size|extensions)",
     "BWS around ';' and '=' and quoted-pairs in chunk extensions (RFC 9112 7.1.1)"),
    ("llhttp", r"Content-Length can't be present with Transfer-Encoding",
     "a Content-Length trailer is not merged into the head (RFC 9110 6.5.1)"),
    ("h11", r"no request line received",
     "empty lines before the request line are skipped (RFC 9112 2.2)"),
    ("h11", r"illegal chunk header",
     "BWS around ';' and '=' and quoted-pairs in chunk extensions (RFC 9112 7.1.1)"),
)
SEEDS = [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;a=b\r\nhello\r\n0\r\nT: v\r\n\r\n",
    b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
]


def triage(finding: Any) -> Optional[str]:
    """Why ``finding`` (a :class:`~rocket.bench.differential.Finding`) is known, or None."""
    if finding.kind != "accepts" or not finding.errors:
        return None
    reasons = []
    for parser, error in finding.errors:
        reason = next((why for name, pattern, why in KNOWN
                       if name == parser and re.search(pattern, error)), None)
        if reason is None:
            return None
        reasons.append(f"{parser}: {reason}")
    return "; ".join(reasons)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``fuzz`` command's options."""
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="how long to fuzz (default 10)")
    parser.add_argument("--out", default="fuzz-findings",
                        help="directory for the corpus and findings (default ./fuzz-findings)")
    parser.add_argument("--max-len", type=int, default=2048,
                        help="largest fuzz input in bytes (default 2048)")


def main(args: argparse.Namespace) -> int:
    """Run the campaign in a child process, then print the findings; see the module doc."""
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("fuzz: atheris is not installed (pip install 'rocket[fuzz]'; CPython only)",
              file=sys.stderr)
        return 2
    from rocket.bench.differential import available

    missing = available()
    if missing:
        print(f"fuzz: {missing}", file=sys.stderr)
        return 2
    out = Path(args.out)
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    (out / "findings").mkdir(exist_ok=True)
    for i, seed in enumerate(SEEDS):
        (out / "corpus" / f"seed-{i}").write_bytes(b"\x00" + seed)
    seconds = max(1, int(args.minutes * 60))
    print(f"fuzz: {seconds} s, libFuzzer log in {out / 'libfuzzer.log'}", flush=True)
    with open(out / "libfuzzer.log", "wb") as log:
        child = subprocess.run(
            [sys.executable, "-m", "rocket.bench.fuzz", str(out), str(seconds),
             str(args.max_len)],
            stdout=log, stderr=subprocess.STDOUT, check=False,
        )
    return _report(out, child.returncode)


def _report(out: Path, returncode: int) -> int:
    summary_path = out / "summary.json"
    if not summary_path.exists():
        print(f"fuzz: the campaign wrote no summary (exit {returncode}); see libfuzzer.log",
              file=sys.stderr)
        return 1
    summary = json.loads(summary_path.read_text())
    if returncode:
        print(f"fuzz: the campaign stopped early (exit {returncode}): a harness or parser "
              f"exception; its input is a crash-* file in {out}, the traceback in libfuzzer.log")
    print(f"fuzz: {summary['inputs']} inputs in {summary['seconds']:.0f} s, "
          f"{len(summary['buckets'])} finding bucket(s)")
    new = 0
    for bucket in summary["buckets"]:
        status = f"known: {bucket['known']}" if bucket["known"] else "NEW"
        new += not bucket["known"]
        print(f"  {bucket['count']:7d} x {bucket['signature']}\n"
              f"          {status}\n          input: {bucket['file']}")
    return 1 if new or returncode else 0


class _Campaign:
    """The child's state: finding buckets, the smallest input of each, the summary file."""

    def __init__(self, out: Path, seconds: int) -> None:
        self.out = out
        self.deadline = time.monotonic() + seconds
        self.started = time.monotonic()
        self.inputs = 0
        self.buckets: Dict[str, Dict[str, Any]] = {}
        self.last_write = 0.0

    def record(self, findings: List[Any]) -> None:
        changed = False
        for finding in findings:
            bucket = self.buckets.get(finding.signature)
            if bucket is None:
                bucket = self.buckets[finding.signature] = {
                    "signature": finding.signature, "count": 0, "known": triage(finding),
                    "file": str(self.out / "findings" / f"{len(self.buckets):03d}.http"),
                    "size": None, "detail": "",
                }
            bucket["count"] += 1
            if bucket["size"] is None or len(finding.data) < bucket["size"]:
                bucket["size"] = len(finding.data)
                bucket["detail"] = finding.detail
                Path(bucket["file"]).write_bytes(finding.data)
                changed = True
        now = time.monotonic()
        if changed or now - self.last_write > 5:
            self.write_summary()

    def write_summary(self) -> None:
        self.last_write = time.monotonic()
        summary = {"inputs": self.inputs, "seconds": self.last_write - self.started,
                   "buckets": sorted(self.buckets.values(), key=lambda b: -b["count"])}
        tmp = self.out / "summary.json.tmp"
        tmp.write_text(json.dumps(summary, indent=1))
        os.replace(tmp, self.out / "summary.json")


def _child(out: Path, seconds: int, max_len: int) -> None:
    import atheris

    with atheris.instrument_imports(include=["rocket.http"]):
        import rocket.http.parser  # noqa: F401
    from rocket.bench.differential import compare
    from rocket.bench.fuzzgen import FuzzChoices, generate

    campaign = _Campaign(out, seconds)

    def one_input(data: bytes) -> None:
        if time.monotonic() > campaign.deadline:
            campaign.write_summary()
            sys.stdout.flush()
            os._exit(0)
        campaign.inputs += 1
        if data[:1] and data[0] & 1:
            stream = generate(FuzzChoices(atheris.FuzzedDataProvider(data[1:])))
        else:
            stream = data[1:]
        campaign.record(compare(stream)[1])

    atheris.Setup([sys.argv[0], f"-max_len={max_len}", f"-max_total_time={seconds + 60}",
                   "-timeout=20", f"-artifact_prefix={out}/", str(out / "corpus")], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    _child(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
