"""A link's clicks for the pages: per day, and by country, device and referring site (human clicks only);
and the manager's search over every link of the program."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from partnerloop.link import repository
from partnerloop.models import Link, Program

STATS_DAYS = 30
TOP = 10


@dataclass(frozen=True)
class LinkStats:
    start: date
    end: date
    days: list[tuple[date, int]]  # every recorded click per day (rollups)
    countries: list[tuple[str, int]]  # "" when unknown
    devices: list[tuple[str, int]]
    referrers: list[tuple[str, int]]  # the referring site's host, "" for direct

    @property
    def total(self) -> int:
        return sum(clicks for _day, clicks in self.days)


def referrer_host(referrer: str | None) -> str:
    """'https://www.news.example/post?id=1' -> 'news.example'; '' for none or unreadable."""
    if not referrer:
        return ""
    host = (urlsplit(referrer).hostname or "").lower()
    return host.removeprefix("www.")


def _by_host(rows: list[tuple[str | None, int]]) -> list[tuple[str, int]]:
    hosts: dict[str, int] = {}
    for referrer, count in rows:
        host = referrer_host(referrer)
        hosts[host] = hosts.get(host, 0) + count
    return sorted(hosts.items(), key=lambda item: (-item[1], item[0]))[:TOP]


def link_stats(session: Session, link: Link, today: date, days: int = STATS_DAYS) -> LinkStats:
    """The link's last `days` days, `today` included."""
    start = today - timedelta(days=days - 1)
    since = datetime.combine(start, time.min, tzinfo=UTC)

    def top(column: str) -> list[tuple[str, int]]:
        return [(value or "", count) for value, count in repository.clicks_by(session, link.id, column, since, TOP)]

    return LinkStats(
        start=start,
        end=today,
        days=repository.link_clicks_by_day(session, link.id, start),
        countries=top("country"),
        devices=top("device"),
        referrers=_by_host(repository.clicks_by(session, link.id, "referrer", since, 200)),
    )


def search_links(
    session: Session, program: Program, *, text: str, partner_id: str, offset: int, limit: int
) -> tuple[list[tuple[Link, str, str, int]], int]:
    """(link, partner name, partner email, clicks) of the live links matching `text`, newest first; the count."""
    rows, total = repository.search(
        session, program.id, text=text.strip()[:200], partner_id=partner_id, offset=offset, limit=limit
    )
    clicks = repository.click_counts(session, [link.id for link, _name, _email in rows])
    return [(link, name, email, clicks.get(link.id, 0)) for link, name, email in rows], total
