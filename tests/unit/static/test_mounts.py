"""rocket.static.mounts: routing, the option list shared with StaticFiles, spec parsing."""

from __future__ import annotations

import pytest

from rocket.static.mounts import parse_static_spec, static_mounts, to_static_mounts, wrap_static
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


def test_every_static_files_option_is_a_mount_option(dirs):
    import inspect

    from rocket.static.files import STATIC_OPTIONS, StaticFiles

    keyword_only = [p.name for p in inspect.signature(StaticFiles).parameters.values()
                    if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert list(STATIC_OPTIONS) == keyword_only
    options = {"display_index": True, "cache_control": "no-cache", "follow_symlinks": True,
               "show_dotfiles": True, "precompressed": False, "cache_bytes": 0}
    app = static_mounts(None, [("/s", dirs / "pub", options)])
    static = app.mounts[0][1]
    assert static.display_index and static.show_dotfiles and not static.precompressed
    listing = call(app, "/s/deep/")
    assert listing.code == 200 and listing.header("Cache-Control") is None
    assert call(app, "/s/a.txt").header("Cache-Control") == "no-cache"
    with pytest.raises(ValueError, match="known: " + ", ".join(STATIC_OPTIONS)):
        static_mounts(None, [("/s", dirs, {"display": True})])


def test_script_name_is_extended_and_the_404_page_without_app(dirs):
    app = static_mounts(fallback, [("/s", dirs / "pub")])
    assert call(app, "/x", SCRIPT_NAME="/site").body == b"app:/site|/x"
    only = static_mounts(None, [("/s", dirs / "pub")])
    missing = call(only, "/x")
    assert missing.body == b"404 Not Found\n"
    assert missing.header("Content-Length") == str(len(missing.body))
    assert missing.header("Content-Type") == "text/plain; charset=utf-8"


def test_bad_mount_shapes(dirs):
    with pytest.raises(ValueError, match=r"\(url_prefix, directory\[, options\]\)"):
        static_mounts(None, [("/s",)])
    with pytest.raises(ValueError, match=r"\(url_prefix, directory\[, options\]\)"):
        to_static_mounts([("/s", dirs, {}, "extra")])
    with pytest.raises(ValueError, match="plain path"):
        static_mounts(None, [("/s?x", dirs)])
    assert static_mounts(None, [("/s/", dirs / "pub")]).mounts[0][0] == "/s"
