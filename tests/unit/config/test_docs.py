"""README's settings table is generated from the settings rows; this fails when it is stale."""

from __future__ import annotations

import os

import pytest

from rocket.cli.main import build_parser
from rocket.config.docs import END, START, maybe_stale_readme, rows, settings_markdown, splice
from rocket.config.settings import MAX_THREADS_BOUND
from rocket.config.sources import all_settings

README = os.path.join(os.path.dirname(__file__), "..", "..", "..", "README.md")


def test_readme_settings_table_is_up_to_date():
    assert maybe_stale_readme(README) is None, (
        "README.md's settings table is out of date: run "
        "`.venv/bin/python -m rocket.config.docs README.md`")


def test_table_has_one_row_per_setting_with_flag_env_and_default():
    table = settings_markdown().splitlines()
    assert len(table) == 2 + len(all_settings())
    by_name = {r["name"]: r for r in rows()}
    assert by_name["max_threads"]["flag"] == "`--max-threads`"
    assert by_name["max_threads"]["env"] == "`ROCKET_MAX_THREADS`"
    assert by_name["reload"]["flag"] == "`--reload` / `--no-reload`"
    assert by_name["keep_alive"]["flag"] == "`--keep-alive`, `--timeout`"
    assert by_name["backlog"]["default"] == "the kernel's maximum (SOMAXCONN)"
    assert by_name["max_threads"]["default"] == f"`{MAX_THREADS_BOUND}` (`Rocket(...)`: `0`)"
    assert by_name["min_threads"]["default"] == "`10`"
    assert by_name["keep_alive"]["default"] == "`75` (`Rocket(...)`: `600`)"
    assert by_name["bind"]["default"] == "`127.0.0.1:8000`"
    assert by_name["max_body"]["default"] == "`1GiB`"
    assert "512KiB" in by_name["max_body"]["accepts"] and "10MB" in by_name["max_body"]["accepts"]
    assert by_name["certfile"]["default"] == "unset"
    assert all(line.count(" | ") == 5 for line in table if not line.startswith("|---"))


def test_defaults_read_in_the_users_terms_without_python_syntax():
    for r in rows():
        for word in ("None", "socket.", "<", "(0x", "1 << "):
            assert word not in r["default"], (r["name"], r["default"])
    help_text = build_parser().format_help()
    for word in ("socket.SOMAXCONN", "default: None", "default: ()"):
        assert word not in help_text


def test_splice_replaces_only_the_marked_block():
    text = f"intro\n{START}\nold\n{END}\noutro\n"
    assert splice(text, "NEW") == f"intro\n{START}\nNEW\n{END}\noutro\n"
    with pytest.raises(ValueError):
        splice("no markers", "NEW")
