"""The forwarded_allow_ips trust list: addresses, CIDRs, unix, *."""

from __future__ import annotations

import pytest

from rocket.http.trust import DEFAULT_TRUSTED, parse_ip, trust_list


def test_default_trusts_loopback_and_unix_only():
    trusted = trust_list(DEFAULT_TRUSTED)
    assert trusted.trusts("127.0.0.1") and trusted.trusts("::1") and trusted.trusts("")
    assert trusted.trusts("/run/rocket.sock")  # a unix peer's "address"
    assert not trusted.trusts("127.0.0.2") and not trusted.trusts("10.0.0.1")
    assert str(trusted) == DEFAULT_TRUSTED


def test_cidrs_and_ipv4_mapped_addresses():
    trusted = trust_list("10.0.0.0/8, 2001:db8::/32")
    assert trusted.trusts("10.200.3.4") and trusted.trusts("::ffff:10.1.2.3")
    assert trusted.trusts("2001:db8::17") and not trusted.trusts("2001:db9::1")
    assert not trusted.trusts("") and not trusted.trusts("11.0.0.1")


def test_star_trusts_everyone():
    trusted = trust_list("*")
    assert trusted.everyone and trusted.trusts("198.51.100.7") and str(trusted) == "*"


def test_empty_list_trusts_nobody():
    trusted = trust_list("")
    assert trusted.empty and not trusted.trusts("127.0.0.1") and not trusted.trusts("")


@pytest.mark.parametrize("bad", ["10.0.0.0/33", "example.com", "1.2.3.4.5", "unix:/x"])
def test_bad_entries_name_themselves(bad):
    with pytest.raises(ValueError, match="neither an IP address"):
        trust_list(f"127.0.0.1,{bad}")


def test_parse_ip_rejects_non_addresses():
    assert parse_ip("nope") is None and str(parse_ip("::ffff:1.2.3.4")) == "1.2.3.4"
