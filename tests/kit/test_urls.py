from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

import pytest

from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.urls import ascii_host, check_destination, image_origin, normalize_domain

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


# ------------------------------------------------------------------ hosts read as a browser reads them

DELIMITERS = set("\\/?#@:%.")
LOOK_ALIKES = [
    chr(code)
    for code in range(0x80, 0x110000)
    if not 0xD800 <= code <= 0xDFFF and DELIMITERS & set(unicodedata.normalize("NFKC", chr(code)))
]
IDNA_DOTS = {"\u3002", "\uff0e", "\uff61"}  # IDNA (and browsers) read these as the label separator


def test_the_corpus_holds_the_known_look_alikes() -> None:
    assert {"\uff3c", "\ufe68", "\uff0f", "\uff1f", "\uff03", "\uff20", "\ufe6b", "\uff1a", "\u2024"} <= set(
        LOOK_ALIKES
    )
    assert len(LOOK_ALIKES) > 40


@pytest.mark.parametrize("template", ["https://evil.test{c}.allowed.test/", "https://allowed.test{c}evil.test/x"])
def test_no_look_alike_of_a_delimiter_smuggles_another_host_past_the_check(template: str) -> None:
    for char in LOOK_ALIKES:
        url = template.format(c=char)
        try:
            check_destination(url, ALLOWED)
        except InvalidInput:
            continue
        # Only a character IDNA reads as a dot may pass, and then the host is what the browser reads too.
        assert char in IDNA_DOTS, f"{char!r} (U+{ord(char):04X}) passed in {url!r}"
        assert ascii_host(urlsplit(url).hostname or "") == "evil.test.allowed.test"


@pytest.mark.parametrize("code", [*range(0x20), 0x7F, 0x85, 0xA0, 0x200B, 0x2028, 0xFEFF])
def test_control_and_invisible_characters_in_a_host_are_refused(code: int) -> None:
    with pytest.raises(InvalidInput):
        check_destination(f"https://evil.test{chr(code)}.allowed.test/", ALLOWED)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://[allowed.test/", id="an opening bracket"),
        pytest.param("https://allowed.test]/", id="a closing bracket"),
        pytest.param("https://[::1]/", id="an IPv6 literal"),
        pytest.param("https://[v1.allowed.test]/", id="an IPvFuture literal"),
        pytest.param("https://evil.test%5c.allowed.test/", id="a percent-encoded backslash"),
        pytest.param("https://evil.test%2f.allowed.test/", id="a percent-encoded solidus"),
        pytest.param("https://evil.test%40allowed.test/", id="a percent-encoded at sign"),
        pytest.param("https://evil_test.allowed.test/", id="an underscore"),
        pytest.param("https://-evil.allowed.test/", id="a label starting with a hyphen"),
    ],
)
def test_hosts_outside_the_hostname_alphabet_are_refused_not_crashed_on(url: str) -> None:
    with pytest.raises(InvalidInput):
        check_destination(url, ALLOWED)


def test_an_internationalised_subdomain_of_an_allowed_domain_passes() -> None:
    assert check_destination("https://bücher.allowed.test/", ALLOWED) == "https://bücher.allowed.test/"
    assert ascii_host("bücher.allowed.test") == "xn--bcher-kva.allowed.test"


IMAGE_ORIGINS = [
    ("https://cdn.acme.example/brand/banner-728x90.png", "https://cdn.acme.example"),
    ("http://Shop.Acme.test:8080/logo.SVG?v=2", "http://shop.acme.test:8080"),
    ("https://bücher.example/logo.webp", "https://xn--bcher-kva.example"),
    ("https://acme.example/banners", None),  # a page, not an image file
    ("javascript:alert(1)//x.png", None),
    ("data:image/png;base64,AAAA.png", None),
    ("https://user:pw@acme.example/logo.png", None),
    ("https://[::1]/logo.png", None),
    ("https://evil.example\uff3c.acme.example/logo.png", None),  # a look-alike of a delimiter in the host
    ("https://acme.example/lo go.png", None),
    ("https://acme.example;img-src/x.png", None),  # nothing that could end the policy's directive
    ("", None),
    (None, None),
]


@pytest.mark.parametrize(("url", "origin"), IMAGE_ORIGINS)
def test_image_origin_names_only_the_host_of_an_image(url: str | None, origin: str | None) -> None:
    assert image_origin(url) == origin
