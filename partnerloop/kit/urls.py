"""Destination URLs: only http(s) on a program's allowed domains (or their subdomains).

Hosts are read the way a browser reads them (the WHATWG URL standard's host parser): percent-escapes
decoded, Unicode mapped to ASCII (IDNA), and then refused unless every character is of the hostname
alphabet (a-z, 0-9, '-', '.'). A non-ASCII character that stands for a URL delimiter (the fullwidth or
small backslash, solidus, '?', '#', '@', ':', '%', ...: anything whose NFKC form is ASCII punctuation
other than the dots IDNA itself maps) is refused before any mapping: a browser may read it as the
delimiter and go to another host than the one compared. `ascii_host` is that one rule; every URL
accepted or redirected to goes through `check_destination` or `ascii_host`.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import SplitResult, unquote, urlsplit

from partnerloop.kit.errors import InvalidInput

_FORBIDDEN_CHARS = frozenset("\\ ") | frozenset(chr(code) for code in (*range(0x20), 0x7F))
# Invisible or line-breaking anywhere in a URL (U+2028, U+200B, U+00A0, C1 controls): shown as nothing or a
# break in a page, an email or a CSV export, so a destination holding one is not what it looks like.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs", "Co", "Cn"})
HOSTNAME_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
# What IDNA maps to the label separator '.', as browsers do: not a look-alike, a dot.
_IDNA_DOTS = frozenset("\u3002\uff0e\uff61")


def _stands_for_a_delimiter(char: str) -> bool:
    """A non-ASCII character whose compatibility form is ASCII punctuation (U+FF3C -> '\\', U+FE68 -> '\\',
    U+FF0F -> '/', U+FF20 -> '@', U+2024 -> '.', ...), or a control or format character."""
    if char.isascii():
        return False
    if char in _IDNA_DOTS:
        return False
    if unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
        return True
    mapped = unicodedata.normalize("NFKC", char)
    return any(each.isascii() and not each.isalnum() and each != "-" for each in mapped)


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES


def ascii_host(host: str) -> str:
    """Lower-case ASCII (punycode) form of a host name, so look-alikes compare as what they are.
    Raises InvalidInput for anything a browser would not read as this same host name."""
    text = unquote(host.strip())  # a browser decodes %xx in a host before reading it
    if not text:
        raise InvalidInput("The URL has no host.")
    if any(_stands_for_a_delimiter(char) for char in text):
        raise InvalidInput(f"'{host}' is not a valid host name (it holds a look-alike of a URL delimiter).")
    text = text.lower().rstrip(".")
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError as error:
            raise InvalidInput(f"'{host}' is not a valid host name.") from error
    labels = text.split(".")
    if (
        not text
        or len(text) > 253
        or any(char not in HOSTNAME_ALPHABET for char in text)
        or any(not 1 <= len(label) <= 63 or label.startswith("-") or label.endswith("-") for label in labels)
    ):
        raise InvalidInput(f"'{host}' is not a valid host name.")
    return text


def split_url(url: str) -> SplitResult:
    """urlsplit, with its ValueError (unbalanced brackets, a bad IPv6 literal) as InvalidInput."""
    try:
        return urlsplit(url)
    except ValueError as error:
        raise InvalidInput("The URL is malformed (brackets or a bad IPv6 address).") from error


def normalize_domain(domain: str) -> str:
    """An allowed domain as stored: 'Shop.Example.com' -> 'shop.example.com'."""
    text = domain.strip().lower()
    if "://" in text:
        try:
            text = split_url(text).hostname or ""
        except (InvalidInput, ValueError):
            text = ""  # refused just below, naming the domain as given
    if not text or "/" in text or "@" in text or ":" in text or "." not in text:
        raise InvalidInput(f"'{domain}' is not a domain name (expected e.g. 'example.com').")
    return ascii_host(text)


def website_host(website: str | None) -> str | None:
    """The host of a website as a person types it ("https://www.Blog.example/x", "blog.example"), without a
    leading www; None when it names no host."""
    text = (website or "").strip().lower()
    if not text:
        return None
    try:
        host = urlsplit(text if "://" in text else f"//{text}").hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host and "." in host and " " not in host else None


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".avif")


def image_origin(url: str | None) -> str | None:
    """The origin (scheme://host[:port]) of an http(s) URL whose path names an image file, for a page's
    `img-src`; None for anything else (a page, a look-alike host, credentials, a bracketed address)."""
    text = (url or "").strip()
    if not text or len(text) > 2000 or any(char in _FORBIDDEN_CHARS or _is_invisible(char) for char in text):
        return None
    try:
        parts = split_url(text)
        if parts.scheme not in ("http", "https") or "@" in parts.netloc or "[" in parts.netloc:
            return None
        host, port = ascii_host(parts.hostname or ""), parts.port
    except (InvalidInput, ValueError):
        return None
    if not parts.path.lower().endswith(IMAGE_SUFFIXES):
        return None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def host_is_allowed(host: str, allowed_domains: list[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in allowed_domains)


def check_destination(url: str, allowed_domains: list[str]) -> str:
    """Return the URL when it is http(s) on an allowed domain; raise InvalidInput naming why not."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise InvalidInput("destination_url must be an absolute http(s) URL of at most 2000 characters.")
    if any(char in _FORBIDDEN_CHARS or (not char.isascii() and _is_invisible(char)) for char in url):
        raise InvalidInput("destination_url must not contain spaces, backslashes or control characters.")
    parts = split_url(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput("destination_url must start with http:// or https://.")
    if "@" in parts.netloc:
        raise InvalidInput("destination_url must not carry a user name or password.")
    if "[" in parts.netloc or "]" in parts.netloc:
        raise InvalidInput("destination_url must name its host, not an IP address in brackets.")
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
