from __future__ import annotations

import pytest

from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.urls import check_destination, normalize_domain

ALLOWED = ["allowed.test"]


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://allowed.test/pricing", id="the allowed domain itself"),
        pytest.param("http://allowed.test", id="plain http without a path"),
        pytest.param("https://www.allowed.test/a?b=c#d", id="a subdomain with query and fragment"),
        pytest.param("https://ALLOWED.test:8443/x", id="upper case host and a port"),
    ],
)
def test_destinations_on_allowed_domains_pass(url: str) -> None:
    assert check_destination(url, ALLOWED) == url


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://allowed.test.evil.com/", id="the allowed name as a subdomain of another"),
        pytest.param("https://allowed.test@evil.com/", id="the allowed name as a user name"),
        pytest.param("https://user:pw@allowed.test/", id="credentials on the allowed host"),
        pytest.param("//evil.com", id="a scheme-relative URL"),
        pytest.param("javascript:alert(1)", id="a javascript URL"),
        pytest.param("JavaScript://allowed.test/%0aalert(1)", id="a javascript URL dressed as a host"),
        pytest.param("https://аllowed.test/", id="a cyrillic look-alike of the allowed name"),
        pytest.param("https://xn--llowed-2ve.test/", id="the punycode of a look-alike"),
        pytest.param("https://notallowed.test/", id="a name that only ends with the allowed one"),
        pytest.param("https://evil.com\\@allowed.test/", id="a backslash trick"),
        pytest.param("https://allowed.test /", id="a space in the URL"),
        pytest.param("ftp://allowed.test/file", id="a non-web scheme"),
        pytest.param("https:///nohost", id="no host at all"),
        pytest.param("https://allowed.test:99999/", id="a port out of range"),
        pytest.param("", id="an empty string"),
    ],
)
def test_destinations_off_allowed_domains_are_refused(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_destination(url, ALLOWED)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        pytest.param("Shop.Example.com", "shop.example.com", id="lower-cased"),
        pytest.param("https://example.com/path", "example.com", id="a URL reduced to its host"),
        pytest.param("bücher.example", "xn--bcher-kva.example", id="an international name as punycode"),
    ],
)
def test_domains_are_normalized(given: str, stored: str) -> None:
    assert normalize_domain(given) == stored


@pytest.mark.parametrize("given", ["localhost", "a@b.com", "example.com:80", ""])
def test_non_domains_are_refused(given: str) -> None:
    with pytest.raises(InvalidInput):
        normalize_domain(given)
