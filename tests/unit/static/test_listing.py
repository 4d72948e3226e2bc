"""The directory listing page: a table of name, size and time, sortable by plain links,
folders first, a parent link below the root, everything escaped, readable on a phone."""

from __future__ import annotations

import os
import re

import pytest

from rocket.static.files import StaticFiles
from rocket.static.listing import sort_order
from tests.unit.static.harness import call


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b-folder").mkdir()
    for name, size, mtime in (("small.txt", 10, 1_700_000_000), ("big.bin", 5000, 1_600_000_000),
                              ("Middle.css", 300, 1_800_000_000)):
        path = tmp_path / "sub" / name
        path.write_bytes(b"x" * size)
        os.utime(path, (mtime, mtime))
    (tmp_path / "sub" / ".hidden").write_text("no")
    return tmp_path


def names(body: bytes):
    return re.findall(rb'<td class="name"><a href="([^"]+)">', body)


def test_a_table_of_name_size_and_modification_time(folder):
    r = call(StaticFiles(folder, display_index=True), "/sub/")
    assert r.code == 200 and r.header("Content-Length") == str(len(r.body))
    body = r.body
    assert b"<table>" in body and b"<li>" not in body and b"<script" not in body
    assert b'<meta name="viewport" content="width=device-width, initial-scale=1">' in body
    assert b">Name \xe2\x96\xb2</a>" in body and b">Size</a>" in body
    assert b">Modified (UTC)</a>" in body
    assert b'<span title="5000 bytes">4.9 KiB</span>' in body
    assert b'<time datetime="2020-09-13T12:26:40Z">2020-09-13' in body
    assert names(body) == [b"../", b"b-folder/", b"big.bin", b"Middle.css", b"small.txt"]
    assert b".hidden" not in body


@pytest.mark.parametrize("query, order", [
    ("sort=size&order=desc", [b"b-folder/", b"big.bin", b"Middle.css", b"small.txt"]),
    ("sort=size&order=asc", [b"b-folder/", b"small.txt", b"Middle.css", b"big.bin"]),
    ("sort=mtime&order=asc", [b"b-folder/", b"big.bin", b"small.txt", b"Middle.css"]),
    ("sort=mtime&order=desc", [b"b-folder/", b"Middle.css", b"small.txt", b"big.bin"]),
    ("sort=name&order=desc", [b"b-folder/", b"small.txt", b"Middle.css", b"big.bin"]),
    ("sort=<x>&order=sideways", [b"b-folder/", b"big.bin", b"Middle.css", b"small.txt"]),
])
def test_headings_sort_without_javascript_folders_first(folder, query, order):
    body = call(StaticFiles(folder, display_index=True), "/sub/", QUERY_STRING=query).body
    assert names(body)[1:] == order
    assert b"&lt;x&gt;" not in body and b"<x>" not in body


def test_the_current_column_links_to_the_other_order(folder):
    body = call(StaticFiles(folder, display_index=True), "/sub/",
                QUERY_STRING="sort=size&order=asc").body
    assert b'<th class="size" aria-sort="ascending"><a href="?sort=size&amp;order=desc">' in body
    assert b'<a href="?sort=name&amp;order=asc">Name</a>' in body
    assert sort_order("sort=mtime") == ("mtime", "asc")


def test_the_root_has_no_parent_link_and_an_empty_folder_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    app = StaticFiles(tmp_path, display_index=True)
    assert b'href="../"' not in call(app, "/").body
    empty = call(app, "/empty/").body
    assert b'href="../"' in empty and b"empty folder" in empty


def test_every_name_is_escaped_and_linked_by_its_bytes(tmp_path):
    (tmp_path / '<img src=x onerror="alert(1)">&.txt').write_text("x")
    (tmp_path / "caf\xe9 \u00e9.txt").write_text("x")
    os.close(os.open(os.fsencode(str(tmp_path)) + b"/bad-\xff.txt", os.O_CREAT | os.O_WRONLY))
    body = call(StaticFiles(tmp_path, display_index=True), "/", SCRIPT_NAME="/<b>").body
    assert b"<img" not in body and b"<b>" not in body
    assert b"&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;.txt" in body
    assert b'href="%3Cimg%20src%3Dx%20onerror%3D%22alert%281%29%22%3E%26.txt"' in body
    assert b'href="bad-%FF.txt">bad-\xef\xbf\xbd.txt</a>' in body  # shown replaced, linked exact
    assert b"Index of /&lt;b&gt;/" in body
    body.decode("utf-8")  # the page itself is valid UTF-8
