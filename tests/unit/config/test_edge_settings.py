"""The edge settings: trust list, header family, PROXY mode, health path, metrics listener,
drain grace; bad values are one ConfigError naming the setting."""

from __future__ import annotations

import pytest

from rocket.config.settings import Config, ConfigError
from rocket.http.trust import TrustList


def test_defaults():
    c = Config()
    assert isinstance(c.forwarded_allow_ips, TrustList)
    assert str(c.forwarded_allow_ips) == "127.0.0.1,::1,unix"
    assert (c.forwarded_headers, c.strip_untrusted_forwarded, c.proxy_protocol) == \
        ("x-forwarded", True, "off")
    assert (c.request_id, c.health_path, c.health_log, c.drain_grace, c.metrics_bind) == \
        (False, None, False, 0.0, None)


def test_values():
    c = Config(forwarded_allow_ips="10.0.0.0/8,unix", forwarded_headers="Forwarded",
               health_path="/healthz", drain_grace="2.5", metrics_bind="127.0.0.1:9100")
    assert c.forwarded_allow_ips.trusts("10.1.2.3") and not c.forwarded_allow_ips.trusts("::1")
    assert (c.forwarded_headers, c.health_path, c.drain_grace) == ("forwarded", "/healthz", 2.5)
    assert (c.metrics_bind.host, c.metrics_bind.port) == ("127.0.0.1", 9100)


@pytest.mark.parametrize("name, value, words", [
    ("forwarded_allow_ips", "10.0.0.0/99", "forwarded_allow_ips"),
    ("forwarded_headers", "both", "one family only"),
    ("health_path", "healthz", "URL path"),
    ("health_path", "/a b", "URL path"),
    ("metrics_bind", "unix:/run/m.sock", "plain TCP"),
    ("drain_grace", "-1", "negative"),
    ("proxy_protocol", "v3", "off, v1, v2, auto"),
])
def test_bad_values_name_the_setting(name, value, words):
    with pytest.raises(ConfigError) as info:
        Config(**{name: value})
    assert words in str(info.value) and "\n" not in str(info.value)
