"""Rocket's request parser against llhttp (httptools) and h11 on generated request streams.

A bounded version of ``python -m rocket.bench fuzz``: hypothesis drives the framing-focused
generator of ``rocket.bench.fuzzgen``, and every finding of ``rocket.bench.differential``
must be one that ``docs/reliability.md`` explains (``rocket.bench.fuzz.KNOWN``). A
deterministic sweep of the same generator tries each spelling on its own.
"""

from __future__ import annotations

import platform

import pytest

pytestmark = pytest.mark.skipif(
    platform.python_implementation() != "CPython",
    reason="httptools (llhttp) is CPython-only; the differential test runs on CPython",
)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rocket.bench.differential import (  # noqa: E402
    Message,
    Outcome,
    compare,
    run_h11,
    run_llhttp,
    run_rocket,
)
from rocket.bench.fuzz import triage  # noqa: E402
from rocket.bench.fuzzgen import Choices, deviations, generate  # noqa: E402


class HypothesisChoices(Choices):
    """Decisions drawn from hypothesis, so that a failure shrinks to the plainest request.

    About one decision in four deviates from the ordinary option: a request with a deviation
    in every part is rejected by all three parsers for its first one, which tests little.
    """

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def pick(self, n: int) -> int:
        if n < 2 or self.data.draw(st.integers(0, 3)) != 3:
            return 0
        return self.data.draw(st.integers(0, n - 1))


def unexplained(data: bytes) -> list:
    return [f for f in compare(data)[1] if triage(f) is None]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_rocket_never_accepts_what_both_reject_nor_frames_differently(data):
    stream = generate(HypothesisChoices(data))
    assert unexplained(stream) == []


def test_every_one_and_two_step_deviation_from_a_plain_request():
    # Deterministic: ~1000 streams, each the plainest one with one or two spellings changed,
    # so that each single smuggling-relevant spelling is tried on its own at least once.
    streams = list(deviations(depth=2))
    assert len(streams) > 500
    assert [f for data in streams for f in compare(data, bytewise=False)[1]
            if triage(f) is None] == []


FIRST = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
SECOND = (b"POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"3;e=v\r\nabc\r\n2\r\nde\r\n0\r\nT: v\r\n\r\n")
THIRD = b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.mark.parametrize("run", [run_rocket, run_llhttp, run_h11])
def test_every_adapter_sees_the_same_three_messages(run):
    outcome = run(FIRST + SECOND + THIRD + b"GET /never-read HTTP/1.1\r\n\r\n")
    assert outcome.state == "closed", outcome
    assert [(m.target, m.body, m.chunks, m.end, m.keep_alive) for m in outcome.messages] == [
        (b"/a", b"hello", (), len(FIRST), True),
        (b"/b", b"abcde", (3, 2), len(FIRST + SECOND), True),
        (b"/c", b"", (), len(FIRST + SECOND + THIRD), False),
    ]


def test_stricter_is_no_finding_but_a_different_end_is():
    # h11 merges "Content-Length: 5, 5", Rocket rejects it: strictness is not a finding.
    assert compare(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello")[1] == []
    data = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello!"

    def one_byte_longer(stream):
        return Outcome("fake", [Message(b"POST", b"/", b"hello!", (), len(stream), True)], "clean")

    findings = compare(data, parsers={"fake": one_byte_longer})[1]
    assert [(f.kind, f.parser, f.index) for f in findings] == [("framing", "fake", 0)]
    assert findings[0].detail.startswith(f"end rocket={len(data) - 1} fake={len(data)}")


def test_known_differences_are_triaged_and_others_are_not():
    (lowercase,) = compare(b"\r\nget / HTTP/1.1\r\nHost: x\r\n\r\n")[1]
    assert lowercase.kind == "accepts" and "RFC 9110 9.1" in triage(lowercase)
    assert triage(lowercase._replace(errors=(("llhttp", "something new"),))) is None


def _bench(tmp_path, *argv, prelude=""):
    import subprocess
    import sys

    code = (f"import sys; {prelude}from rocket.bench.__main__ import main; "
            f"sys.exit(main({list(argv)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)


def test_fuzz_command_without_atheris_says_so_in_one_line_and_exits_2(tmp_path):
    done = _bench(tmp_path, "fuzz", "--minutes", "1", prelude="sys.modules['atheris'] = None; ")
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1 and "atheris" in done.stderr


def test_a_short_fuzz_campaign_reports_only_known_findings(tmp_path):
    pytest.importorskip("atheris")
    done = _bench(tmp_path, "fuzz", "--minutes", "0.05", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "inputs in" in done.stdout and "NEW" not in done.stdout
    assert (tmp_path / "out" / "summary.json").exists()
