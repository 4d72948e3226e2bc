"""The ``fs`` method: registry lookup and app_info checks of FileSystemWorker."""

from __future__ import annotations

import pytest

from rocket.static.files import StaticFiles
from rocket.workers import get_worker_class
from rocket.workers.base import WorkerContext
from rocket.workers.fs import FileSystemWorker

CONTEXT = WorkerContext(software="Rocket test")


def test_fs_method_is_registered_case_insensitively():
    assert get_worker_class("fs") is FileSystemWorker
    assert get_worker_class("FS") is FileSystemWorker


def test_app_info_builds_static_files(tmp_path):
    info = {"document_root": str(tmp_path), "display_index": True, "cache_control": "no-cache"}
    worker = FileSystemWorker(info, CONTEXT)
    assert isinstance(worker.app, StaticFiles)
    assert worker.app.display_index and worker.app.cache_control == "no-cache"
    assert "wsgi_app" not in info  # the caller's dict is left alone


def test_app_info_errors(tmp_path):
    with pytest.raises(ValueError, match="document_root"):
        FileSystemWorker({}, CONTEXT)
    with pytest.raises(ValueError, match="not a directory"):
        FileSystemWorker({"document_root": str(tmp_path / "missing")}, CONTEXT)
    # Rocket writes server_software, min_threads... into app_info: other keys are not errors.
    worker = FileSystemWorker({"document_root": str(tmp_path), "server_software": "x"}, CONTEXT)
    assert worker.app.display_index is False
