"""The channel of every lifecycle line of a real ``rocket`` process, single and with
``--workers 2``: ``Rocket`` or ``Rocket.<Part>``, never ``Rocket.Errors.*`` (which carries
warnings and errors only, as Rocket 1.x did), so alerting on "Errors" is not set off by a
normal start and stop."""

from __future__ import annotations

import http.client
import re
from typing import List, Tuple

from tests.functional.cli_support import HELLO_APP

RECORD = re.compile(r"^\[[^\]]+\] (?P<level>[A-Z]+) (?P<name>\S+): (?P<message>.*)$")


def records(log: str) -> List[Tuple[str, str, str]]:
    return [(m["level"], m["name"], m["message"]) for line in log.splitlines()
            for m in [RECORD.match(line)] if m]


def channel_of(found: List[Tuple[str, str, str]], words: str) -> str:
    names = {name for _, name, message in found if words in message}
    assert len(names) == 1, (words, found)
    return names.pop()


def get(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/")
        return conn.getresponse().status
    finally:
        conn.close()


def test_single_process_lifecycle_lines_are_on_rocket(tmp_path, rocket_process):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    proc = rocket_process(["-b", "127.0.0.1:0", "--no-access-log", "hello:app"], tmp_path)
    assert get(proc.port()) == 200
    assert proc.stop() == 0
    found = records(proc.log())
    assert channel_of(found, "Starting") == "Rocket"
    assert channel_of(found, "Listening on sockets") == "Rocket"
    assert channel_of(found, "Stopping Server") == "Rocket"
    assert [r for r in found if r[1].startswith("Rocket.Errors")] == []


def test_worker_processes_lifecycle_lines_are_on_rocket_parts(tmp_path, rocket_process):
    (tmp_path / "hello.py").write_text(HELLO_APP)
    proc = rocket_process(["-b", "127.0.0.1:0", "--workers", "2", "--no-access-log",
                           "hello:app"], tmp_path)
    port = int(proc.wait_for(r"listening on 127\.0\.0\.1:(\d+)").group(1))
    proc.wait_for_all(r"Booted worker process", 2, timeout=20)
    assert get(port) == 200
    assert proc.stop() == 0
    found = records(proc.log())
    assert channel_of(found, "listening on 127.0.0.1") == "Rocket.Arbiter"
    assert channel_of(found, "Booted worker process") == "Rocket.Worker"
    assert channel_of(found, "SIGTERM: stopping gracefully") == "Rocket.Arbiter"
    assert channel_of(found, "exiting") == "Rocket.Worker"
    assert channel_of(found, "stopped") == "Rocket.Arbiter"
    assert [r for r in found if r[1].startswith("Rocket.Errors")] == []
    assert all(level in ("INFO", "DEBUG") for level, _, _ in found), found
