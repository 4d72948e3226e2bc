"""The request parser's state changes are exactly those of its ``TRANSITIONS`` table.

The parser keeps its state implicitly (the body reader in use, or none) because a table
lookup per event costs time on the hot path; these tests hold that code to the table: every
corpus request, whole, byte by byte and in random chunks, pipelined, must only make
transitions the table lists, ``NEED_DATA`` must never change the state, and every row of the
table must be used.
"""

from __future__ import annotations

import pytest

from rocket.http.events import NEED_DATA, ConnectionClosed, Data, EndOfMessage, Request
from rocket.http.parser import IDLE, SEND_BODY, TRANSITIONS, Limits, RequestParser
from tests.unit.http.test_corpus import NEXT, SPLITS, VALID


def transitions_seen(raw: bytes, meta: dict, split: str, seed: int) -> set:
    """(state before, event type, state after) of every event; asserts NEED_DATA keeps state."""
    parser = RequestParser(Limits(**meta.get("limits", {})))
    seen = set()
    pieces = SPLITS[split](raw + NEXT + raw, seed)
    for piece in pieces + [b""]:
        parser.feed(piece)
        while True:
            before = parser.state
            event = parser.next_event()
            if event is NEED_DATA:
                assert parser.state == before, "NEED_DATA changed the state"
                break
            seen.add((before, type(event), parser.state))
            if isinstance(event, ConnectionClosed):
                assert not piece, "ConnectionClosed before EOF"
                break
    return seen


def table_rows() -> set:
    return {(state, kind, after) for state, row in TRANSITIONS.items() for kind, after in row.items()}


def test_table_covers_every_event_type_and_state():
    assert set(TRANSITIONS) == {IDLE, SEND_BODY}
    assert set(TRANSITIONS[IDLE]) == {Request, ConnectionClosed}
    assert set(TRANSITIONS[SEND_BODY]) == {Data, EndOfMessage}


@pytest.mark.parametrize("split", sorted(SPLITS))
def test_every_transition_is_in_the_table_and_every_row_is_used(split):
    rows = table_rows()
    used = set()
    for name, raw, meta in VALID:
        seen = transitions_seen(raw, meta, split, int(name))
        assert seen <= rows, f"case {name}: transitions outside the table: {seen - rows}"
        used |= seen
    assert used == rows, f"rows never exercised: {rows - used}"


def test_a_bodyless_request_passes_through_send_body():
    parser = RequestParser()
    parser.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert parser.state == IDLE and parser.idle
    parser.next_event()
    assert parser.state == SEND_BODY and not parser.idle
    assert isinstance(parser.next_event(), EndOfMessage)
    assert parser.state == IDLE and parser.idle
