"""docs/deploy.md quotes the configurations the fleet tests run, word for word, and haproxy
and nginx both accept them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest

from tests.fleet.balancers import HAPROXY_CFG, NGINX_CONF
from tests.fleet.hosts import ROOT

DEPLOY_MD = os.path.join(ROOT, "docs", "deploy.md")


def need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        reason = f"`{tool}` is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(f"fleet test cannot run in CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return path


@pytest.mark.parametrize("config,fence", [(HAPROXY_CFG, "haproxy"), (NGINX_CONF, "nginx")])
def test_deploy_page_quotes_the_tested_file(config, fence):
    with open(config) as f:
        text = f.read()
    with open(DEPLOY_MD) as f:
        page = f.read()
    assert f"```{fence}\n{text}```\n" in page, f"docs/deploy.md does not quote {config} exactly"


def test_haproxy_accepts_the_configuration():
    done = subprocess.run([need("haproxy"), "-c", "-f", HAPROXY_CFG], capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_nginx_accepts_the_configuration():
    nginx = need("nginx")
    with tempfile.TemporaryDirectory(prefix="rocket-nginx-") as d:
        main = os.path.join(d, "main.conf")
        with open(main, "w") as f:
            f.write(f"pid {d}/nginx.pid;\nevents {{}}\nhttp {{ include {NGINX_CONF}; }}\n")
        done = subprocess.run([nginx, "-t", "-e", os.path.join(d, "error.log"), "-p", d,
                               "-c", main], capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stdout + done.stderr
