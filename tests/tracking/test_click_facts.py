"""The pure parts of the redirect path: IP truncation, the destination around the click id, link targets,
rollup counting, click ids."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from ulid import ULID

from partnerloop.kit.ids import new_id_bytes
from partnerloop.tracking.batch import PendingClick, click_row, rollup_increments, truncate_ip, utc_text
from partnerloop.tracking.cache import split_destination, target_for
from partnerloop.tracking.repository import LinkRow

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("address", "truncated"),
    [
        pytest.param("203.0.113.77", "203.0.113.0", id="ipv4 keeps its /24"),
        pytest.param("10.1.2.3", "10.1.2.0", id="a private ipv4 keeps its /24"),
        pytest.param("2001:db8:abcd:12:34:56:78:9a", "2001:db8:abcd::", id="ipv6 keeps its /48"),
        pytest.param("::ffff:198.51.100.9", "198.51.100.0", id="an ipv4-mapped ipv6 is truncated as ipv4"),
        pytest.param("fe80::1%eth0", "fe80::", id="a zone index is ignored"),
        pytest.param("testclient", None, id="a name that is no address is dropped"),
        pytest.param(None, None, id="no client address is none"),
    ],
)
def test_truncate_ip(address: str | None, truncated: str | None) -> None:
    assert truncate_ip(address) == truncated


@pytest.mark.parametrize(
    ("destination", "head", "tail"),
    [
        pytest.param("https://a.test/p", "https://a.test/p?pl_cid=", "", id="a query is added"),
        pytest.param("https://a.test/p?x=1&y=2", "https://a.test/p?x=1&y=2&pl_cid=", "", id="the query is kept"),
        pytest.param("https://a.test/p?x=1#top", "https://a.test/p?x=1&pl_cid=", "#top", id="the fragment stays last"),
        pytest.param("https://a.test/?pl_cid=old&x=1", "https://a.test/?x=1&pl_cid=", "", id="an old pl_cid goes"),
        pytest.param("https://a.test", "https://a.test?pl_cid=", "", id="no path stays no path"),
        pytest.param("https://A.Test:8443/p", "https://a.test:8443/p?pl_cid=", "", id="the port is kept"),
        pytest.param(
            "https://bücher.test/ä?q=ü",
            "https://xn--bcher-kva.test/%C3%A4?q=%C3%BC&pl_cid=",
            "",
            id="non-ascii becomes punycode and percent escapes",
        ),
        pytest.param(
            "https://a.test/p?q=a%20b", "https://a.test/p?q=a%20b&pl_cid=", "", id="escapes are kept as they are"
        ),
    ],
)
def test_split_destination(destination: str, head: str, tail: str) -> None:
    assert split_destination(destination) == (head.encode(), tail.encode())


def _row(**overrides: object) -> LinkRow:
    values: dict[str, object] = {
        "key": "k", "link_id": "l1", "program_id": "p1", "partner_id": "pa1",
        "destination_url": "https://shop.acme.test/x", "deleted": False, "cookie_days": 30,
        "allowed_domains": ["acme.test"], "link_updated_at": NOW, "program_updated_at": NOW,
    }  # fmt: skip
    values.update(overrides)
    return LinkRow(**values)  # type: ignore[arg-type]


def test_a_live_link_on_an_allowed_domain_has_a_target() -> None:
    target = target_for(_row())
    assert target is not None
    assert target.location_head == b"https://shop.acme.test/x?pl_cid="
    assert target.cookie_attributes == b"; Max-Age=2592000; Path=/; SameSite=Lax; HttpOnly"
    assert target.secure_cookie_attributes == target.cookie_attributes + b"; Secure"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"deleted": True}, id="a deleted link"),
        pytest.param({"allowed_domains": ["other.test"]}, id="a destination off the allowed domains"),
        pytest.param({"allowed_domains": []}, id="a program without allowed domains"),
        pytest.param({"destination_url": "javascript:alert(1)"}, id="a destination that is no http url"),
    ],
)
def test_links_that_must_not_redirect_have_no_target(overrides: dict[str, object]) -> None:
    assert target_for(_row(**overrides)) is None


def test_rollups_count_clicks_and_bots_per_link_and_utc_day() -> None:
    target = target_for(_row())
    other = target_for(_row(key="k2", link_id="l2"))
    assert target is not None and other is not None
    late = datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC).timestamp()
    early = datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC).timestamp()
    clicks: list[PendingClick] = [
        (new_id_bytes(), target, late, None, b"Mozilla/5.0 (Windows NT 10.0) Chrome/120", b"", b""),
        (new_id_bytes(), target, late, None, b"Googlebot/2.1", b"", b""),
        (new_id_bytes(), target, early, None, b"Googlebot/2.1", b"", b""),
        (new_id_bytes(), other, early, None, b"Mozilla/5.0 (Windows NT 10.0) Chrome/120", b"", b""),
    ]
    counts = {(item.link_id, str(item.day)): (item.clicks, item.bot_clicks)
              for item in rollup_increments([click_row(click) for click in clicks])}  # fmt: skip
    assert counts == {("l1", "2026-03-01"): (2, 1), ("l1", "2026-03-02"): (1, 1), ("l2", "2026-03-02"): (1, 0)}


def test_a_nul_byte_in_a_header_does_not_reach_the_database() -> None:
    target = target_for(_row())
    assert target is not None
    row = click_row((new_id_bytes(), target, NOW.timestamp(), "1.2.3.4", b"a\x00b", b"r\x00", b"??"))
    assert row[6] == "ab"  # user_agent
    assert row[11] == "r"  # referrer
    assert row[12] is None  # "??" is no country


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param(datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "2026-03-01 12:00:00.000000", id="a whole second"),
        pytest.param(
            datetime(2026, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
            "2026-12-31 23:59:59.999999",
            id="the last microsecond of a year",
        ),
        pytest.param(
            datetime(2026, 3, 1, 0, 0, 0, 250_000, tzinfo=UTC), "2026-03-01 00:00:00.250000", id="a quarter second"
        ),
    ],
)
def test_utc_text_matches_what_sqlalchemy_stores(moment: datetime, text: str) -> None:
    assert utc_text(moment.timestamp()) == text
    assert utc_text(moment.timestamp()) == moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def test_click_ids_are_ulids_ordered_by_time() -> None:
    first = new_id_bytes()
    time.sleep(0.002)
    second = new_id_bytes()
    for raw in (first, second):
        assert len(raw) == 26
        assert raw == raw.lower()
        decoded = ULID.from_str(raw.decode().upper())
        assert abs(decoded.timestamp - time.time()) < 5
    assert first < second


def test_click_ids_do_not_repeat() -> None:
    ids = {new_id_bytes() for _ in range(50_000)}
    assert len(ids) == 50_000
    assert {raw[10:11] for raw in ids} == set(b"0123456789abcdefghjkmnpqrstvwxyz"[i : i + 1] for i in range(32))
