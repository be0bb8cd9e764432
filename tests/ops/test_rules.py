"""Who may scrape /metrics: a table of tokens, headers and client addresses."""

from __future__ import annotations

import pytest

from partnerloop.ops.rules import ScrapeRefusal, scrape_refusal

TOKEN = "s3cret-metrics-token"


@pytest.mark.parametrize(
    ("token", "authorization", "client", "refusal"),
    [
        pytest.param(None, None, "127.0.0.1", None, id="without a token a loopback client may scrape"),
        pytest.param(None, None, "127.8.9.10", None, id="all of 127.0.0.0/8 is loopback"),
        pytest.param(None, None, "::1", None, id="IPv6 loopback may scrape"),
        pytest.param(
            None, None, "10.0.0.7", ScrapeRefusal.LOOPBACK_ONLY, id="without a token a private address may not"
        ),
        pytest.param(None, None, "203.0.113.9", ScrapeRefusal.LOOPBACK_ONLY, id="nor a public one"),
        pytest.param(None, None, "testclient", ScrapeRefusal.LOOPBACK_ONLY, id="nor a client that is not an address"),
        pytest.param(None, None, None, ScrapeRefusal.LOOPBACK_ONLY, id="nor an unknown client"),
        pytest.param(
            None,
            f"Bearer {TOKEN}",
            "203.0.113.9",
            ScrapeRefusal.LOOPBACK_ONLY,
            id="a bearer header means nothing when no token is set",
        ),
        pytest.param(
            TOKEN, f"Bearer {TOKEN}", "203.0.113.9", None, id="with a token its bearer may scrape from anywhere"
        ),
        pytest.param(TOKEN, f"bearer {TOKEN}", "203.0.113.9", None, id="the scheme is case-insensitive"),
        pytest.param(TOKEN, None, "127.0.0.1", ScrapeRefusal.TOKEN_REQUIRED, id="with a token loopback needs it too"),
        pytest.param(TOKEN, "Bearer wrong", "127.0.0.1", ScrapeRefusal.TOKEN_REQUIRED, id="a wrong token is refused"),
        pytest.param(TOKEN, f"Bearer {TOKEN}x", "127.0.0.1", ScrapeRefusal.TOKEN_REQUIRED, id="a longer one too"),
        pytest.param(
            TOKEN, f"Basic {TOKEN}", "127.0.0.1", ScrapeRefusal.TOKEN_REQUIRED, id="another scheme is refused"
        ),
        pytest.param(TOKEN, "Bearer", "127.0.0.1", ScrapeRefusal.TOKEN_REQUIRED, id="an empty bearer is refused"),
        pytest.param("", None, "203.0.113.9", ScrapeRefusal.LOOPBACK_ONLY, id="an empty token setting is no token"),
    ],
)
def test_who_may_scrape(
    token: str | None, authorization: str | None, client: str | None, refusal: ScrapeRefusal | None
) -> None:
    assert scrape_refusal(token, authorization, client) == refusal
