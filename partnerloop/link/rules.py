"""Pure facts of a link: its UTM parameters and how they join a destination URL. No clock, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit, urlunsplit

UTM_FIELDS = ("source", "medium", "campaign", "term", "content")


def utm_params(utm: Mapping[str, object] | None) -> tuple[tuple[str, str], ...]:
    """The link's stored UTMs ({"utm_source": "x", …}) as (name, value) pairs in canonical order; empty
    and unknown entries dropped."""
    if not utm:
        return ()
    pairs = []
    for field in UTM_FIELDS:
        value = utm.get(f"utm_{field}")
        if isinstance(value, str) and value:
            pairs.append((f"utm_{field}", value))
    return tuple(pairs)


def with_utm(url: str, utm: tuple[tuple[str, str], ...]) -> str:
    """`url` with the UTM pairs appended to its query, except those the URL already names (its own win)."""
    if not utm:
        return url
    parts = urlsplit(url)
    present = {item.split("=", 1)[0] for item in parts.query.split("&") if item}
    extra = "&".join(f"{name}={quote(value, safe='')}" for name, value in utm if name not in present)
    if not extra:
        return url
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
