"""rocket._version: the version, and the warning about Rocket 1.x installed in the same place."""

from __future__ import annotations

import subprocess
import sys

import rocket
from rocket._version import SERVER_SOFTWARE, __version__, maybe_conflicting_install


def fake_dist(site, name: str, version: str) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def test_version_is_the_package_version():
    assert rocket.__version__ == __version__ and f"Rocket {__version__}" == SERVER_SOFTWARE


def test_rocket_1_installed_beside_is_named(tmp_path):
    assert maybe_conflicting_install([str(tmp_path)]) is None
    fake_dist(tmp_path, "rocket-wsgi", __version__)
    fake_dist(tmp_path, "Rocket", "1.2.8")
    warning = maybe_conflicting_install([str(tmp_path)])
    assert warning is not None and warning.startswith("Rocket 1.2.8 (distribution 'rocket')")
    assert "pip uninstall rocket rocket-wsgi && pip install rocket-wsgi" in warning


def test_the_command_warns_once_on_standard_error(tmp_path):
    fake_dist(tmp_path, "rocket", "1.2.8")
    done = subprocess.run([sys.executable, "-m", "rocket", "--check-config"], cwd=tmp_path,
                          env={"PYTHONPATH": f"{tmp_path}:{':'.join(sys.path)}"},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("rocket: warning: Rocket 1.2.8 (distribution 'rocket')") == 1
