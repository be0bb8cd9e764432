"""User-agent facts: browser, OS, device class and bot flag."""

from __future__ import annotations

import pytest

from partnerloop.tracking.useragent import AgentFacts, agent_facts, classify
from tests.tracking.helpers import CHROME_ON_WINDOWS, GOOGLEBOT, SAFARI_ON_IPHONE

IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
    "Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
FIREFOX_ON_MAC = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:121.0) Gecko/20100101 Firefox/121.0"
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "browser", "os", "device", "is_bot"),
    [
        pytest.param(CHROME_ON_WINDOWS, "Chrome", "Windows", "desktop", False, id="chrome on windows is a desktop"),
        pytest.param(FIREFOX_ON_MAC, "Firefox", "Mac OS X", "desktop", False, id="firefox on a mac is a desktop"),
        pytest.param(SAFARI_ON_IPHONE, "Mobile Safari", "iOS", "mobile", False, id="an iphone is a mobile"),
        pytest.param(ANDROID_PHONE, "Chrome", "Android", "mobile", False, id="an android phone is a mobile"),
        pytest.param(IPAD, "Mobile Safari", "iOS", "tablet", False, id="an ipad is a tablet"),
        pytest.param(ANDROID_TABLET, "Chrome", "Android", "tablet", False, id="android without Mobile is a tablet"),
        pytest.param(GOOGLEBOT, "Googlebot", None, "bot", True, id="googlebot is a bot"),
        pytest.param(
            HEADLESS_CHROME, "HeadlessChrome", "Linux", "tool", False, id="headless chrome is a tool, not a bot"
        ),
        pytest.param("curl/8.5.0", "curl", None, "tool", False, id="curl is a tool, not a bot"),
        pytest.param("Wget/1.21.4", "Wget", None, "tool", False, id="wget is a tool, not a bot"),
        pytest.param(
            "python-requests/2.32.3", "Python Requests", None, "tool", False, id="python requests is a tool, not a bot"
        ),
        pytest.param(
            "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
            "Slackbot-LinkExpanding",
            None,
            "bot",
            True,
            id="slack's link preview is a bot",
        ),
        pytest.param("", None, None, "bot", True, id="no user agent at all is a script"),
    ],
)
def test_agent_facts(user_agent: str, browser: str | None, os: str | None, device: str, is_bot: bool) -> None:
    facts = agent_facts(user_agent)
    assert (facts.device, facts.is_bot) == (device, is_bot)
    assert facts.browser == browser
    assert facts.os == os


@pytest.mark.parametrize(
    ("user_agent", "device_family", "is_bot"),
    [
        pytest.param("SomeCrawler/1.0", None, True, id="a crawler marker flags a bot"),
        pytest.param("Mozilla/5.0 nice", "Spider", True, id="ua-parser's Spider device flags a bot"),
        pytest.param(
            "Mozilla/5.0 (Linux; Android 14; CUBOT_X30) Mobile",
            None,
            False,
            id="a phone brand ending in bot is not a bot",
        ),
    ],
)
def test_bot_flag(user_agent: str, device_family: str | None, is_bot: bool) -> None:
    assert classify(user_agent, None, None, device_family).is_bot is is_bot


def test_facts_are_cached_per_user_agent() -> None:
    assert agent_facts(CHROME_ON_WINDOWS) is agent_facts(CHROME_ON_WINDOWS)
    assert isinstance(agent_facts(CHROME_ON_WINDOWS), AgentFacts)
