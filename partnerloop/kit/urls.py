"""Destination URLs: only http(s) on a program's allowed domains (or their subdomains)."""

from __future__ import annotations

from urllib.parse import urlsplit

from partnerloop.kit.errors import InvalidInput

_FORBIDDEN_CHARS = set("\\ \t\r\n\x00")


def ascii_host(host: str) -> str:
    """Lower-case ASCII (punycode) form of a host name, so look-alikes compare as what they are."""
    host = host.strip().rstrip(".").lower()
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise InvalidInput(f"'{host}' is not a valid host name.") from error


def normalize_domain(domain: str) -> str:
    """An allowed domain as stored: 'Shop.Example.com' -> 'shop.example.com'."""
    text = domain.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    if not text or "/" in text or "@" in text or ":" in text or "." not in text:
        raise InvalidInput(f"'{domain}' is not a domain name (expected e.g. 'example.com').")
    return ascii_host(text)


def host_is_allowed(host: str, allowed_domains: list[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in allowed_domains)


def check_destination(url: str, allowed_domains: list[str]) -> str:
    """Return the URL when it is http(s) on an allowed domain; raise InvalidInput naming why not."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise InvalidInput("destination_url must be an absolute http(s) URL of at most 2000 characters.")
    if any(char in _FORBIDDEN_CHARS for char in url):
        raise InvalidInput("destination_url must not contain spaces, backslashes or control characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("destination_url must start with http:// or https://.")
    if "@" in parts.netloc:
        raise InvalidInput("destination_url must not carry a user name or password.")
    try:
        hostname = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise InvalidInput("destination_url has a malformed host or port.") from error
    if not hostname:
        raise InvalidInput("destination_url has no host.")
    host = ascii_host(hostname)
    if not host_is_allowed(host, allowed_domains):
        allowed = ", ".join(allowed_domains) or "none yet"
        raise InvalidInput(f"destination_url's host '{host}' is not an allowed domain of the program ({allowed}).")
    return url
