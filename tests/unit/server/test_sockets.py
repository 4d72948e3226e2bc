"""Unit tests of the SocketServer pieces without sockets: protocols, the message stream,
the info() shape, the hook and concurrency settings and the argv helper."""

from __future__ import annotations

from typing import Any, List

import pytest

from rocket.config.settings import Config, ConfigError, concurrency_mode, optional_hook
from rocket.server.hooks import HOOK_NAMES
from rocket.server.sockets import LineProtocol, Protocol, SocketServer, settings_from_argv
from rocket.workers.protocol import (
    NEED_DATA,
    IncompleteMessage,
    MessageStream,
    MessageTooLarge,
)


class LengthPrefixed(Protocol):
    """Test protocol: 2 ASCII digits of length, then the payload; a non-digit is an error."""

    def decode(self, data: bytes) -> Any:
        if len(data) < 2:
            return None, data
        if not data[:2].isdigit():
            raise ValueError(f"bad length prefix {data[:2]!r}")
        size = int(data[:2])
        if len(data) < 2 + size:
            return None, data
        return data[2:2 + size], memoryview(data)[2 + size:]  # any bytes-like rest works

    def encode(self, message: Any) -> bytes:
        return b"%02d%s" % (len(message), message)


def drain(stream: MessageStream) -> List[Any]:
    out = []
    while True:
        message = stream.next_message()
        if message is NEED_DATA:
            return out
        out.append(message)


# -- protocols -------------------------------------------------------------------------------
def test_base_protocol_passes_bytes_through():
    p = Protocol()
    assert p.decode(b"abc") == (b"abc", b"")
    assert p.encode(bytearray(b"xy")) == b"xy"


def test_line_protocol_splits_lines_and_keeps_the_rest():
    p = LineProtocol()
    assert p.decode(b"one\ntwo\nthr") == (b"one", b"two\nthr")
    assert p.decode(b"partial") == (None, b"partial")
    assert p.encode("héllo") == "héllo\n".encode()
    crlf = LineProtocol(b"\r\n")
    assert crlf.decode(b"a\r\nb") == (b"a", b"b")


def test_line_protocol_bounds_a_line():
    p = LineProtocol(max_line_bytes=4)
    assert p.decode(b"1234\n") == (b"1234", b"")
    with pytest.raises(ValueError, match="longer than 4"):
        p.decode(b"12345")
    with pytest.raises(ValueError, match="longer than 4"):
        p.decode(b"12345\n")


# -- the message stream ----------------------------------------------------------------------
@pytest.mark.parametrize("chunking", ["whole", "bytewise", "pairs"])
def test_stream_decodes_messages_however_the_bytes_arrive(chunking):
    wire = b"05hello03abc00" + b"10" + b"0123456789"
    stream = MessageStream(LengthPrefixed(), max_message_bytes=64)
    step = {"whole": len(wire), "bytewise": 1, "pairs": 2}[chunking]
    got = []
    for i in range(0, len(wire), step):
        stream.feed(wire[i:i + step])
        got += drain(stream)
    assert got == [b"hello", b"abc", b"", b"0123456789"]
    assert stream.trailing_data == b""


def test_stream_keeps_the_rest_as_bytes_and_reports_it():
    stream = MessageStream(LengthPrefixed())
    stream.feed(b"02hi01")
    assert stream.next_message() == b"hi"
    assert stream.trailing_data == b"01" and stream.trailing_data.__class__ is bytes
    assert stream.next_message() is NEED_DATA and stream.trailing_data == b"01"


def test_stream_bounds_a_partial_message():
    stream = MessageStream(LineProtocol(), max_message_bytes=8)
    stream.feed(b"12345678")
    assert stream.next_message() is NEED_DATA
    stream.feed(b"9")
    with pytest.raises(MessageTooLarge, match="max_message_bytes=8"):
        stream.next_message()


def test_unbounded_stream_when_max_message_bytes_is_zero():
    stream = MessageStream(LineProtocol(), max_message_bytes=0)
    stream.feed(b"x" * 100_000)
    assert stream.next_message() is NEED_DATA
    stream.feed(b"\n")
    assert stream.next_message() == b"x" * 100_000


def test_stream_eof_between_and_inside_messages():
    stream = MessageStream(LineProtocol())
    stream.feed(b"a\n")
    stream.feed(b"")
    assert stream.eof and stream.next_message() == b"a" and stream.next_message() is NEED_DATA
    broken = MessageStream(LineProtocol())
    broken.feed(b"half")
    broken.feed(b"")
    with pytest.raises(IncompleteMessage):
        broken.next_message()


def test_stream_decode_errors_propagate():
    stream = MessageStream(LengthPrefixed())
    stream.feed(b"zz")
    with pytest.raises(ValueError, match="bad length prefix"):
        stream.next_message()


# -- settings --------------------------------------------------------------------------------
def test_hook_setting_takes_a_callable_or_module_name():
    assert optional_hook(None) is None and optional_hook("") is None
    assert optional_hook(len) is len
    assert optional_hook("os.path:join") is __import__("os").path.join
    for bad, words in [("nocolon", "MODULE:NAME"), ("no_such_mod_xyz:f", "cannot import"),
                       ("os:no_such_attr", "has no"), ("os:sep", "not callable")]:
        with pytest.raises(ValueError, match=words):
            optional_hook(bad)
    with pytest.raises(ConfigError, match="connection_lost"):
        Config(connection_lost="os:sep")


def test_concurrency_setting():
    assert concurrency_mode(" Process ") == "process"
    with pytest.raises(ValueError):
        concurrency_mode("fibers")
    assert Config().concurrency == "thread"
    assert Config().max_message_bytes == 1 << 20


def test_settings_from_argv_uses_the_table():
    settings = settings_from_argv(["--bind", "127.0.0.1:8070", "--bind", "unix:/tmp/x.sock",
                                   "--backlog", "1000", "--keep-alive", "10",
                                   "--concurrency", "thread", "--max-message-bytes", "4096",
                                   "--no-access-log", "--pre-request", "os.path:join"])
    assert [i.describe() for i in settings["bind"]] == ["127.0.0.1:8070", "unix:/tmp/x.sock"]
    assert settings["backlog"] == 1000 and settings["keep_alive"] == 10.0
    assert settings["concurrency"] == "thread" and settings["max_message_bytes"] == 4096
    assert settings["access_log"] is False and callable(settings["pre_request"])
    assert settings_from_argv(["--timeout", "3"]) == {"keep_alive": 3.0}
    assert settings_from_argv([]) == {}
    Config(**settings)  # every value is one Config accepts


@pytest.mark.parametrize("argv, words", [
    (["--backlog", "many"], "--backlog"),
    (["--concurrency", "fibers"], "--concurrency"),
    (["--nope"], "unrecognized"),
    (["--timeout", "1", "--keep-alive", "2"], "not both"),
])
def test_settings_from_argv_bad_input_is_one_line_and_exit_2(argv, words, capsys):
    with pytest.raises(SystemExit) as exited:
        settings_from_argv(argv, prog="echo.py")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert words in err and err.startswith("echo.py: error: ") and err.count("\n") == 1


def test_hook_names_are_settings():
    assert all(name in Config().as_dict() for name in HOOK_NAMES)


def test_process_mode_info_and_stop_go_to_the_arbiter():
    class FakeArbiter:
        stops = 0
        interfaces: list = []
        config = Config()
        stopping = None
        target = generation = 2
        started_at = 0.0

        def request_stop(self) -> None:
            self.stops += 1

        def worker_records(self) -> list:
            return []

    server = SocketServer(Protocol, lambda conn, m: m, bind="127.0.0.1:0", workers=2,
                          handle_signals=False, queue_size=7, max_requests=5)
    assert server.multi_process and server.config.queue_size == 7
    settings = server._arbiter_settings()
    assert settings["max_requests"] == 0 and settings["queue_size"] == 7  # per connection
    assert "handle_signals" not in settings and "bind" in settings
    with pytest.raises(ConfigError, match="concurrency='process' serves in the foreground"):
        server.start(background=True)
    server._arbiter = FakeArbiter()
    assert server.info()["workers_wanted"] == 2
    server.stop()
    assert server._arbiter.stops == 1
    child = server._as_worker_process(None, {"bind": server.interfaces}, [])
    assert child is server and not server.multi_process   # in the forked worker process
    assert server.config.max_requests == 5


def test_queue_size_is_an_explicit_setting_so_process_workers_inherit_it():
    server = SocketServer(Protocol, handler=lambda conn, message: message,
                          bind=("127.0.0.1", 0), queue_size=7, handle_signals=False)
    assert server.config.queue_size == 7 and server.queue_size == 7
    assert "queue_size" in server.config.explicit


def test_ready_decodes_ahead_and_next_message_returns_it():
    stream = MessageStream(LengthPrefixed())
    assert not stream.ready()  # nothing buffered
    stream.feed(b"05hel")
    assert not stream.ready() and stream.trailing_data == b"05hel"
    stream.feed(b"lo02")
    assert stream.ready() and stream.ready()  # decoded once, kept
    assert stream.next_message() == b"hello"
    assert stream.next_message() is NEED_DATA and stream.trailing_data == b"02"


def test_ready_reports_a_decode_failure_and_the_end_for_the_worker():
    stream = MessageStream(LengthPrefixed())
    stream.feed(b"zz")
    assert stream.ready()
    with pytest.raises(ValueError, match="bad length prefix"):
        stream.next_message()
    ended = MessageStream(LengthPrefixed())
    ended.feed(b"05he")
    ended.feed(b"")
    assert ended.ready()
    with pytest.raises(IncompleteMessage):
        ended.next_message()
