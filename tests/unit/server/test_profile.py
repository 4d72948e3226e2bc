"""rocket.server.profile: the profile setting's start and finish, and ThreadProfiler's hook."""

from __future__ import annotations

import logging
import os
import pstats
import threading

import pytest

from rocket.config.settings import ConfigError
from rocket.server.profile import THREAD_PREFIX, ThreadProfiler, finish_profile, start_profile

LOG = logging.getLogger("test.profile")


def rocket_side_work():
    return sum(i * i for i in range(5000))


def other_side_work():
    return sum(i + i for i in range(5000))


def run_thread(name, target):
    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()


def profiled_functions(path):
    return {name for (_, _, name) in pstats.Stats(path).stats}


def test_only_rocket_threads_started_after_the_start_are_profiled(tmp_path, caplog):
    path = str(tmp_path / "server.prof")
    profiler = start_profile(path)
    try:
        run_thread(THREAD_PREFIX + "worker-1", rocket_side_work)
        run_thread("app-thread", other_side_work)
    finally:
        with caplog.at_level(logging.INFO, logger=LOG.name):
            written = finish_profile(profiler, LOG)
    assert written is True and profiler.threads == 1
    functions = profiled_functions(path)
    assert "rocket_side_work" in functions and "other_side_work" not in functions
    assert f"Wrote the profile of 1 thread(s) to {path}" in caplog.text


def test_threads_after_finish_are_not_profiled(tmp_path):
    profiler = start_profile(str(tmp_path / "p.prof"))
    assert finish_profile(profiler, LOG, write=False) is False
    run_thread(THREAD_PREFIX + "late", rocket_side_work)
    assert profiler.threads == 0
    assert not os.path.exists(tmp_path / "p.prof")


def test_a_worker_process_writes_its_own_file(tmp_path):
    path = str(tmp_path / "w.prof")
    profiler = start_profile(path, per_process=True)
    try:
        run_thread(THREAD_PREFIX + "worker-2", rocket_side_work)
    finally:
        assert finish_profile(profiler, LOG)
    assert profiler.path == f"{path}.{os.getpid()}"
    assert "rocket_side_work" in profiled_functions(profiler.path)
    assert not os.path.exists(path)


def test_an_unwritable_folder_is_a_config_error_at_start(tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "p.prof"
    with pytest.raises(ConfigError, match="setting 'profile': cannot write"):
        start_profile(str(missing))


def test_a_failed_write_is_logged_not_raised(tmp_path, caplog):
    folder = tmp_path / "gone"
    folder.mkdir()
    profiler = start_profile(str(folder / "p.prof"))
    run_thread(THREAD_PREFIX + "worker-3", rocket_side_work)
    folder.rmdir()
    with caplog.at_level(logging.ERROR, logger=LOG.name):
        assert finish_profile(profiler, LOG) is False
    assert "Cannot write the profile to" in caplog.text


def test_nothing_profiled_writes_nothing(tmp_path):
    profiler = start_profile(str(tmp_path / "empty.prof"))
    assert finish_profile(profiler, LOG) is False
    assert not os.path.exists(tmp_path / "empty.prof")


def test_installed_block_writes_on_exit(tmp_path):
    path = str(tmp_path / "block.prof")
    with ThreadProfiler(path).installed(prefix="job-") as profiler:
        run_thread("job-1", rocket_side_work)
        run_thread("other", other_side_work)
    assert profiler.threads == 1 and "rocket_side_work" in profiled_functions(path)
