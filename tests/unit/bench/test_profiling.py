"""ThreadProfiler merges the cProfile data of many threads; profile-report prints it."""

from __future__ import annotations

import pstats
import threading

from rocket.bench.__main__ import main as bench_main
from rocket.bench.profiling import ThreadProfiler, report


def busy_function_one(n):
    return sum(i * i for i in range(n))


def busy_function_two(stop):
    while not stop.is_set():
        busy_function_one(100)
        stop.wait(0.001)


def functions(stats):
    return {name for (_, _, name) in stats.stats}


def test_threads_are_merged_into_one_file(tmp_path):
    path = str(tmp_path / "rocket.prof")
    prof = ThreadProfiler(path)
    threads = [threading.Thread(target=prof.wrap(busy_function_one), args=(20000,))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert prof.threads == 3
    assert prof.dump() is True
    stats = pstats.Stats(path)
    assert "busy_function_one" in functions(stats)
    key = next(k for k in stats.stats if k[2] == "busy_function_one")
    assert stats.stats[key][1] == 3  # one call per thread, all three merged


def test_a_still_running_thread_is_included_at_dump(tmp_path):
    prof = ThreadProfiler()
    stop = threading.Event()
    t = threading.Thread(target=prof.wrap(busy_function_two), args=(stop,))
    t.start()
    try:
        stop.wait(0.2)
        path = str(tmp_path / "live.prof")
        assert prof.dump(path) is True
        assert "busy_function_one" in functions(pstats.Stats(path))
    finally:
        stop.set()
        t.join(10)
    assert prof.threads == 1


def test_nothing_recorded_writes_nothing(tmp_path):
    path = tmp_path / "empty.prof"
    assert ThreadProfiler(str(path)).dump() is False
    assert not path.exists()


def test_context_manager_dumps_and_report_prints_top_functions(tmp_path, capsys):
    path = str(tmp_path / "cm.prof")
    with ThreadProfiler(path) as prof:
        prof.run(busy_function_one, 5000)
    text = report([path], sort="cumulative", limit=5, out=None)
    assert "busy_function_one" in text
    assert "calls" in text
    capsys.readouterr()
    assert bench_main(["profile-report", path, "--limit", "3"]) == 0
    assert "busy_function_one" in capsys.readouterr().out


def test_profile_report_on_a_bad_file_is_a_clear_error(tmp_path, capsys):
    bad = tmp_path / "bad.prof"
    bad.write_bytes(b"not a profile")
    assert bench_main(["profile-report", str(bad)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_installed_profiles_threads_started_inside_by_name(tmp_path):
    path = str(tmp_path / "inst.prof")
    prof = ThreadProfiler(path)
    with prof.installed(prefix="rocket-"):
        named = threading.Thread(target=busy_function_one, args=(3000,), name="rocket-worker-1")
        other = threading.Thread(target=busy_function_one, args=(3000,), name="unrelated")
        named.start()
        other.start()
        named.join(10)
        other.join(10)
    after = threading.Thread(target=busy_function_one, args=(3000,), name="rocket-worker-2")
    after.start()
    after.join(10)
    assert prof.threads == 1  # only the rocket- thread started inside the block
    stats = pstats.Stats(path)
    key = next(k for k in stats.stats if k[2] == "busy_function_one")
    assert stats.stats[key][1] == 1
