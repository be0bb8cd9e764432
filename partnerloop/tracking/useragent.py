"""What a click's user agent says: browser, operating system, device class and whether it is a bot.

Parsed when the click buffer writes a batch (never on the redirect), with ua-parser's regexes
(ua-parser-rs makes a parse ~25 µs instead of ~700 µs) and an LRU cache in front.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import ua_parser

MAX_USER_AGENT = 1000
MAX_FAMILY = 64

# Self-declared crawlers and link previewers that ua-parser does not already classify as "Spider".
# HTTP tools (curl, httpx, headless browsers…) are not bots here: a merchant's own test, an app's
# in-app browser or a server-side fetch are real clicks, and a guess must never discard one.
_BOT_MARKERS = re.compile(
    r"bot\b|crawl|spider|slurp|scrapy|facebookexternalhit|lighthouse|pingdom|uptime",
    re.IGNORECASE,
)
_TOOL_MARKERS = re.compile(
    r"^curl/|wget/|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|okhttp|java/|libwww"
    r"|httpclient|headless",
    re.IGNORECASE,
)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|nexus (7|9|10)\b", re.IGNORECASE)
_DESKTOP_OS = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS", "FreeBSD", "OpenBSD", "NetBSD"}
)


@dataclass(frozen=True, slots=True)
class AgentFacts:
    browser: str | None  # ua-parser's family: "Chrome", "Mobile Safari", "Firefox", "curl", "Other"
    os: str | None  # "Windows", "iOS", "Android", "Mac OS X", "Other"
    device: str  # desktop | mobile | tablet | tool | bot | other
    is_bot: bool


def classify(user_agent: str, browser: str | None, os: str | None, device_family: str | None) -> AgentFacts:
    """The device class and bot flag from the raw string and ua-parser's families (pure)."""
    if not user_agent.strip() or device_family == "Spider" or _BOT_MARKERS.search(user_agent):
        # A browser always sends a user agent: an empty one is a script.
        return AgentFacts(browser=browser, os=os, device="bot", is_bot=True)
    if _TOOL_MARKERS.search(user_agent):
        device = "tool"
    elif _TABLET.search(user_agent) or (os == "Android" and "Mobile" not in user_agent):
        device = "tablet"
    elif "Mobi" in user_agent or os in ("iOS", "Android", "Windows Phone", "BlackBerry OS"):
        device = "mobile"
    elif os in _DESKTOP_OS:
        device = "desktop"
    else:
        device = "other"
    return AgentFacts(browser=browser, os=os, device=device, is_bot=False)


@lru_cache(maxsize=20_000)
def agent_facts(user_agent: str) -> AgentFacts:
    """Browser, OS, device class and bot flag of a user-agent string (cached: the same few dominate)."""
    user_agent = user_agent[:MAX_USER_AGENT]
    parsed = ua_parser.parse(user_agent) if user_agent.strip() else None
    browser = os = device_family = None
    if parsed is not None:
        browser = parsed.user_agent.family[:MAX_FAMILY] if parsed.user_agent else None
        os = parsed.os.family[:MAX_FAMILY] if parsed.os else None
        device_family = parsed.device.family if parsed.device else None
    return classify(user_agent, browser, os, device_family)
