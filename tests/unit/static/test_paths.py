"""Path resolution: every traversal spelling is refused, nothing outside the root is read."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import pytest

from rocket.static.files import StaticFiles
from rocket.static.paths import Refused, inside, resolve, split_path
from tests.unit.static.harness import call

# Raw request targets, as a client could send them; the server percent-decodes once
# (keeping %2F literal) before PATH_INFO reaches the app.
TRAVERSALS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/a/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/%252e%252e/secret.txt",
    "/..%2fsecret.txt",
    "/..%2Fsecret.txt",
    "/%2e%2e%2fsecret.txt",
    "/..%252fsecret.txt",
    "/..\\secret.txt",
    "/..%5csecret.txt",
    "/..%5Csecret.txt",
    "/%2e%2e%5csecret.txt",
    "/..%255csecret.txt",
    "/a/%00/../secret.txt",
    "/secret.txt%00.html",
    "/index.html%00",
    "/%2fetc/passwd",
    "/%2Fetc%2Fpasswd",
    "//etc/passwd",
    "/./../secret.txt",
    "/a/./../../secret.txt",
    "/..;/secret.txt",
    "/a/..",
    "/....//secret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/\\..\\secret.txt",
]


def server_path_info(target: str) -> str:
    """Decode like Rocket: percent-decode once, keep %2F as a literal, latin-1 str."""
    parts = target.replace("%2F", "\x00SLASH").replace("%2f", "\x00slash").split("\x00")
    out = b""
    for part in parts:
        if part.startswith("SLASH"):
            out += b"%2F" + unquote_to_bytes(part[5:])
        elif part.startswith("slash"):
            out += b"%2f" + unquote_to_bytes(part[5:])
        else:
            out += unquote_to_bytes(part)
    return out.decode("latin-1")


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "index.html").write_bytes(b"index")
    (tmp_path / "secret.txt").write_bytes(b"SECRET")
    return root


def test_thirty_traversal_spellings(layout):
    assert len(set(TRAVERSALS)) == 30
    app = StaticFiles(layout, display_index=True)
    for target in TRAVERSALS:
        for path_info in {target, server_path_info(target)}:
            r = call(app, path_info)
            assert r.code in (301, 400, 403, 404), (target, path_info, r)
            assert b"SECRET" not in r.body, (target, path_info)
            assert b"root:" not in r.body, (target, path_info)


def test_dot_segments_are_400():
    for path in ("/..", "/a/../b", "/.", "/a/./b", "/a%2f..%2fb", "/%2e%2e", "/a\\b", "/a\x00b"):
        with pytest.raises(Refused) as info:
            split_path(path)
        assert info.value.status == 400, path


def test_plain_names_pass():
    assert split_path("/a/b.txt") == (["a", "b.txt"], False)
    assert split_path("/a//b/") == (["a", "b"], True)
    assert split_path("") == ([], False)
    assert split_path("/..a/b..") == (["..a", "b.."], False)
    assert split_path("/caf\xc3\xa9") == (["caf\xe9"], False)  # UTF-8 bytes as latin-1


def test_non_latin1_path_info_refused():
    with pytest.raises(Refused):
        split_path("/\u2603")


def test_inside():
    assert inside("/srv/www", "/srv/www")
    assert inside("/srv/www", "/srv/www/a")
    assert not inside("/srv/www", "/srv/www2/a")
    assert not inside("/srv/www", "/srv")
    assert inside("/", "/etc")


def test_resolve_hidden_and_missing(layout):
    (layout / ".git").mkdir()
    (layout / ".git" / "config").write_bytes(b"x")
    real = str(layout.resolve())
    with pytest.raises(Refused) as info:
        resolve(real, "/.git/config")
    assert info.value.status == 404
    assert resolve(real, "/.git/config", show_dotfiles=True).is_file
    with pytest.raises(Refused):
        resolve(real, "/missing")
    with pytest.raises(Refused):
        resolve(real, "/index.html/more")
