"""static_mounts routing and parse_static_spec."""

from __future__ import annotations

import pytest

from rocket.static.files import parse_static_spec, static_mounts
from tests.unit.static.harness import call


def fallback(environ, start_response):
    body = f"app:{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def dirs(tmp_path):
    (tmp_path / "pub").mkdir()
    (tmp_path / "pub" / "a.txt").write_bytes(b"public a")
    (tmp_path / "pub" / "deep").mkdir()
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "a.txt").write_bytes(b"deep a")
    return tmp_path


def test_routing(dirs):
    app = static_mounts(
        fallback,
        [
            ("/assets", dirs / "pub", {"cache_control": "max-age=5"}),
            ("/assets/deep/", dirs / "deep"),
        ],
    )
    r = call(app, "/assets/a.txt")
    assert r.body == b"public a" and r.header("Cache-Control") == "max-age=5"
    assert call(app, "/assets/deep/a.txt").body == b"deep a"  # longest prefix wins
    assert call(app, "/assets/missing").code == 404  # a mount owns its prefix
    assert call(app, "/assetsx/a.txt").body == b"app:|/assetsx/a.txt"
    assert call(app, "/other").body == b"app:|/other"
    r = call(app, "/assets")
    assert r.code == 301 and r.header("Location") == "/assets/"


def test_root_mount_and_no_app(dirs):
    app = static_mounts(None, [("/", dirs / "pub")])
    assert call(app, "/a.txt").body == b"public a"
    only = static_mounts(None, [("/s", dirs / "pub")])
    assert call(only, "/elsewhere").code == 404


def test_mount_errors(dirs):
    with pytest.raises(ValueError, match="must start with '/'"):
        static_mounts(fallback, [("assets", dirs)])
    with pytest.raises(ValueError, match="unknown option"):
        static_mounts(fallback, [("/a", dirs, {"colour": "red"})])
    with pytest.raises(ValueError, match="not a directory"):
        static_mounts(fallback, [("/a", dirs / "nope")])
    with pytest.raises(ValueError, match="'..' segments"):
        static_mounts(fallback, [("/a/../b", dirs)])


def test_parse_static_spec(dirs):
    assert parse_static_spec(f"/assets={dirs}") == ("/assets", str(dirs))
    assert parse_static_spec(f" /assets/ = {dirs} ") == ("/assets", str(dirs))
    assert parse_static_spec(f"/={dirs}") == ("", str(dirs))
    for bad, message in (
        ("/assets", "URL=DIR"),
        (f"={dirs}", "URL=DIR"),
        ("/assets=", "URL=DIR"),
        (f"assets={dirs}", "start with '/'"),
        (f"/a b={dirs}", "plain path"),
        ("/assets=/definitely/not/here", "does not exist"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_static_spec(bad)


def test_to_static_mounts_and_wrap(dirs):
    from rocket.static.files import to_static_mounts, wrap_static

    assert to_static_mounts(None) == ()
    assert to_static_mounts(f"/a/={dirs}") == (("/a", str(dirs)),)
    mounts = to_static_mounts([f"/a={dirs}", ("/b/", dirs / "pub", {"show_dotfiles": True})])
    assert mounts == (("/a", str(dirs)), ("/b", dirs / "pub", {"show_dotfiles": True}))
    with pytest.raises(ValueError, match="URL=DIR"):
        to_static_mounts(["nope"])
    with pytest.raises(ValueError, match="does not exist"):
        to_static_mounts([("/x", dirs / "missing")])
    assert wrap_static(fallback, ()) is fallback
    app = wrap_static(fallback, mounts)
    assert call(app, "/b/a.txt").body == b"public a"
    assert call(app, "/c").body == b"app:|/c"
