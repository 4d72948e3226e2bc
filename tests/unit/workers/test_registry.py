"""The method registry: built-ins, registration, case-insensitivity, errors."""

from __future__ import annotations

import pytest

from rocket.workers import get_worker_class, register_method, registered_methods
from rocket.workers.base import Worker
from rocket.workers.wsgi import WSGIWorker


def test_wsgi_is_built_in_and_case_insensitive():
    assert get_worker_class("wsgi") is WSGIWorker
    assert get_worker_class("WSGI") is WSGIWorker
    assert "wsgi" in registered_methods()


def test_register_and_replace():
    class Echo(Worker):
        def handle(self, conn):
            return False

    class Echo2(Echo):
        pass

    register_method("Echo-Test", Echo)
    assert get_worker_class("echo-test") is Echo
    assert "echo-test" in registered_methods()
    register_method("ECHO-test", Echo2)  # same name, any case: replaces the earlier class
    assert get_worker_class("Echo-Test") is Echo2
    assert registered_methods().count("echo-test") == 1


def test_unknown_method_names_the_known_ones():
    with pytest.raises(ValueError, match="unknown method 'nope'.*wsgi"):
        get_worker_class("nope")


def test_only_worker_subclasses_register():
    with pytest.raises(TypeError, match="not a subclass"):
        register_method("bad", object)


def test_lazy_exports():
    import rocket.workers as workers
    from rocket.workers.filewrapper import FileWrapper

    assert workers.WSGIWorker is WSGIWorker and workers.Worker is Worker
    assert workers.FileWrapper is FileWrapper
    with pytest.raises(AttributeError):
        workers.Nothing  # noqa: B018


def test_base_worker_handle_is_abstract():
    with pytest.raises(NotImplementedError):
        Worker({}, None).handle(object())
