"""Fixtures of the command-line tests."""

from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No ROCKET_* variable, the current directory a fresh tmp_path, sys.path restored after."""
    for name in list(os.environ):
        if name.startswith("ROCKET_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
