"""The parser's size limits (limits.py): defaults, validation and repr."""

from __future__ import annotations

import pytest

from rocket.http.limits import DEFAULT_LIMITS, Limits

POSITIVE = [
    "max_request_line",
    "max_field_bytes",
    "max_header_bytes",
    "max_headers",
    "max_chunk_line",
    "max_trailer_bytes",
]


def test_defaults_follow_common_servers():
    limits = Limits()
    assert (limits.max_request_line, limits.max_field_bytes) == (8190, 8190)
    assert (limits.max_header_bytes, limits.max_headers) == (65536, 100)
    assert (limits.max_chunk_line, limits.max_trailer_bytes) == (4096, 8192)
    assert limits.max_body == 1 << 30
    assert repr(DEFAULT_LIMITS) == repr(limits)


def test_every_limit_is_a_keyword():
    limits = Limits(**{name: 7 for name in POSITIVE}, max_body=9)
    assert [getattr(limits, name) for name in POSITIVE] == [7] * 6 and limits.max_body == 9
    with pytest.raises(TypeError):
        Limits(100)  # type: ignore[misc]


@pytest.mark.parametrize("name", POSITIVE)
@pytest.mark.parametrize("value", [0, -1, 1.5, "10", None])
def test_size_limits_must_be_positive_integers(name, value):
    with pytest.raises(ValueError, match=f"{name} must be a positive integer, got {value!r}"):
        Limits(**{name: value})


def test_max_body_zero_means_no_limit_but_negative_is_refused():
    assert Limits(max_body=0).max_body == 0
    for value in (-1, 2.0, "1"):
        with pytest.raises(ValueError, match="max_body must be an integer >= 0"):
            Limits(max_body=value)


def test_limits_have_no_other_attributes():
    with pytest.raises(AttributeError):
        Limits().max_bodyy = 5  # type: ignore[attr-defined]


def test_repr_names_every_limit():
    text = repr(Limits(max_headers=3, max_body=0))
    assert text.startswith("Limits(") and "max_headers=3" in text and "max_body=0" in text
    for name in POSITIVE:
        assert f"{name}=" in text
