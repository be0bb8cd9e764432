"""Deciding and writing one batch of clicks (pure decisions + one transaction): the rows, their daily
rollups, which clicks are unique, and the click rewards they earn. BatchWriter runs in the click writer
process (click_writer.py) or, inline, in a worker thread of the server (buffer.py); both import it from
here, so the writer process does not import the buffer.
"""

from __future__ import annotations

import ipaddress
import logging
import sqlite3
from collections import Counter, OrderedDict
from collections.abc import Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import NamedTuple, Protocol

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from partnerloop.commission.clicks import ClickCommissions, ClickFacts, price_clicks, record_click_commissions
from partnerloop.commission.rules import earns_click_reward
from partnerloop.db import write_lock
from partnerloop.kit.time import as_utc
from partnerloop.tracking import repository
from partnerloop.tracking.cache import LinkTarget
from partnerloop.tracking.link_rules import UNIQUE_WINDOW_S, cookie_click_id, is_unique_click, visitor_of
from partnerloop.tracking.repository import ClickRow, RollupIncrement, UniqueFacts
from partnerloop.tracking.useragent import MAX_USER_AGENT, agent_facts

log = logging.getLogger("partnerloop.tracking")

MAX_REFERRER = 2000
WARM_UP_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
_NOT_COUNTRIES = frozenset({"xx", "t1"})  # Cloudflare's "unknown" and "Tor"
# Errors that the same rows will hit again on every retry (a constraint or a value the column refuses).
_ROW_ERRORS = (
    sa_exc.IntegrityError, sa_exc.DataError, psycopg.IntegrityError, psycopg.DataError, sqlite3.IntegrityError,
    sqlite3.DataError,
)  # fmt: skip


class ClickTarget(Protocol):
    """What writing a click needs of its link: a LinkTarget in this process, TargetIds in the writer's."""

    @property
    def program_id(self) -> str: ...
    @property
    def link_id(self) -> str: ...
    @property
    def partner_id(self) -> str: ...


class TargetIds(NamedTuple):
    """A link's ids, sent to the writer process in place of its LinkTarget."""

    program_id: str
    link_id: str
    partner_id: str


# A click as the redirect saw it, decoded and enriched only when written: (click id, link target, epoch
# seconds, client address, user-agent header, referer header, cf-ipcountry header[, cookie header]). A
# plain tuple because the redirect builds one per request (a NamedTuple costs six times as much to create).
# The cookie header (its pl_cid names the visitor's previous click) is optional: site clicks have none.
PendingClick = (
    tuple[bytes, LinkTarget, float, str | None, bytes, bytes, bytes]
    | tuple[bytes, LinkTarget, float, str | None, bytes, bytes, bytes, bytes]
)
# The same with only the link's ids: what the writer process receives.
WritableClick = (
    tuple[bytes, ClickTarget, float, str | None, bytes, bytes, bytes]
    | tuple[bytes, ClickTarget, float, str | None, bytes, bytes, bytes, bytes]
)


class ClickWriteFailed(Exception):
    """The writer process could not write a batch; `row_error`: a row the database refuses (retrying the
    same rows fails again), else a passing failure (locked database, lost connection, process exited)."""

    def __init__(self, message: str, row_error: bool) -> None:
        super().__init__(message)
        self.row_error = row_error


def is_row_error(error: BaseException) -> bool:
    """A failure that the same rows will hit again on every retry."""
    if isinstance(error, ClickWriteFailed):
        return error.row_error
    return isinstance(error, _ROW_ERRORS) or isinstance(getattr(error, "orig", None), _ROW_ERRORS)


# How many recent (link, visitor) visits the click writer remembers. Past that, the oldest are
# forgotten and the database answers for them instead (one query per written batch): the limit costs
# queries, never correctness. ~100 bytes an entry: ~20 MB at most.
MAX_REMEMBERED = 100_000


@lru_cache(maxsize=65_536)
def truncate_ip(address: str | None) -> str | None:
    """The /24 network of an IPv4 address (203.0.113.77 -> 203.0.113.0), the /48 of an IPv6 one."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network((ip, prefix), strict=False).network_address)


def _text(raw: bytes, limit: int) -> str | None:
    # PostgreSQL text cannot hold NUL; headers are bytes, usually ASCII, sometimes UTF-8.
    return raw.decode("utf-8", "replace").replace("\x00", "")[:limit] or None


@lru_cache(maxsize=20_000)
def _agent_columns(raw: bytes) -> tuple[str | None, str | None, str | None, str, bool]:
    """(user_agent, browser, os, device, is_bot) of a raw User-Agent header."""
    user_agent = _text(raw, MAX_USER_AGENT) if raw else None
    facts = agent_facts(user_agent or "")
    return user_agent, facts.browser, facts.os, facts.device, facts.is_bot


@lru_cache(maxsize=1024)
def _country(raw: bytes) -> str | None:
    code = raw.decode("ascii", "replace").strip().lower()
    return code if len(code) == 2 and code.isalpha() and code.isascii() and code not in _NOT_COUNTRIES else None


_second_text: tuple[int, str] = (-1, "")  # (epoch second, "YYYY-MM-DD HH:MM:SS"), computed once a second


def utc_text(at: float) -> str:
    """'YYYY-MM-DD HH:MM:SS.ffffff' in UTC: the form SQLAlchemy stores in SQLite, and PostgreSQL reads."""
    global _second_text
    second = int(at)
    cached = _second_text
    if cached[0] != second:
        cached = _second_text = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S"))
    return f"{cached[1]}.{int((at - second) * 1_000_000):06d}"


def click_row(click: WritableClick) -> ClickRow:
    """The row stored for a pending click: truncated IP, user-agent facts, bounded texts."""
    click_id, target, at, client_ip, raw_agent, raw_referrer, raw_country = click[:7]
    user_agent, browser, os, device, is_bot = _agent_columns(raw_agent)
    return (
        click_id.decode("ascii"), target.program_id, target.link_id, target.partner_id, utc_text(at),
        truncate_ip(client_ip), user_agent, browser, os, device, is_bot,
        _text(raw_referrer, MAX_REFERRER) if raw_referrer else None, _country(raw_country) if raw_country else None,
    )  # fmt: skip


def rollup_increments(rows: Sequence[ClickRow], uniques: Sequence[UniqueFacts] | None = None) -> list[RollupIncrement]:
    """Clicks, bot clicks and unique clicks per (link, UTC day) of a batch."""
    clicks: Counter[tuple[str, str, str, str]] = Counter()
    bots: Counter[tuple[str, str, str, str]] = Counter()
    unique: Counter[tuple[str, str, str, str]] = Counter()
    for index, row in enumerate(rows):
        group = (row[1], row[2], row[3], row[4][:10])
        clicks[group] += 1
        if row[10]:
            bots[group] += 1
        if uniques is not None and uniques[index][0]:
            unique[group] += 1
    return [
        RollupIncrement(program_id=program_id, link_id=link_id, partner_id=partner_id, day=date.fromisoformat(day),
                        clicks=count, bot_clicks=bots[group], unique_clicks=unique[group])
        for group in clicks
        for (program_id, link_id, partner_id, day), count in [(group, clicks[group])]
    ]  # fmt: skip


_visitor = lru_cache(maxsize=65_536)(visitor_of)


class VisitorMemory:
    """What the flusher remembers of recent clicks, to decide uniqueness without the database: the last
    click time of each (link id, visitor), bounded to MAX_REMEMBERED entries, least recently used forgotten
    first; only the flusher touches it, one batch at a time. The click ids that pl_cid cookies name are
    looked up in the batch being written, then by primary key in the database (remembering every click id
    cost ~35 MB)."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.limit = limit
        self.visits: OrderedDict[tuple[str, str], float] = OrderedDict()

    def remember(self, visits: dict[tuple[str, str], float]) -> None:
        for pair, at in visits.items():
            self.visits[pair] = at
            self.visits.move_to_end(pair)
        while len(self.visits) > self.limit:
            self.visits.popitem(last=False)

    def unique_facts(
        self,
        connection: Connection,
        clicks: Sequence[WritableClick],
        rows: Sequence[ClickRow],
    ) -> tuple[list[UniqueFacts], dict[tuple[str, str], float]]:
        """(is_unique, visitor) of each click of a batch, in order, and the batch's latest visit per (link id,
        visitor): to remember() once the batch is committed."""
        visits: dict[tuple[str, str], float] = {}
        seen_ids: dict[str, tuple[str, float]] = {}  # the batch's click ids, for cookies naming one of them
        visitors = [_visitor(row[5], row[6]) for row in rows]
        cookies = [cookie_click_id(click[7]) if len(click) > 7 else None for click in clicks]
        since = min((click[2] for click in clicks), default=0.0) - UNIQUE_WINDOW_S
        stored: dict[tuple[str, str], float] = {}
        missing_pairs = [
            (row[2], visitor) for row, visitor in zip(rows, visitors, strict=True)
            if max(visits.get((row[2], visitor), -1.0), self.visits.get((row[2], visitor), -1.0)) < since
        ]  # fmt: skip
        if missing_pairs:  # clicks an earlier process, another worker, or a forgotten entry covers
            cutoff = datetime.fromtimestamp(since, UTC)
            for pair, last in repository.last_visits(connection, missing_pairs, cutoff).items():
                stored[pair] = as_utc(last).timestamp()
        stored_ids: dict[str, tuple[str, float]] = {}
        missing_ids = [cid for cid in cookies if cid is not None and cid not in seen_ids]
        if missing_ids:
            for cid, (stored_link, created) in repository.clicks_by_id(connection, missing_ids).items():
                stored_ids[cid] = (stored_link, as_utc(created).timestamp())
        facts: list[UniqueFacts] = []
        remembered = self.visits
        for click, row, visitor, cookie in zip(clicks, rows, visitors, cookies, strict=True):
            link_id, at = row[2], click[2]
            pair = (link_id, visitor)
            in_batch = visits.get(pair)
            # The latest earlier click of this visitor on this link, wherever it is known from.
            previous = None
            for seen in (in_batch, remembered.get(pair), stored.get(pair)):
                if seen is not None and seen <= at and (previous is None or seen > previous):
                    previous = seen
            if cookie is not None:
                earlier = seen_ids.get(cookie) or stored_ids.get(cookie)
                if earlier is not None and earlier[0] == link_id and earlier[1] <= at:
                    previous = earlier[1] if previous is None else max(previous, earlier[1])
            facts.append((is_unique_click(row[10], previous, at), visitor))
            visits[pair] = at if in_batch is None or at > in_batch else in_batch
            seen_ids[row[0]] = (link_id, at)
        return facts, visits


class BatchWriter:
    """Decides (rows, uniqueness, click commissions) and writes batches of clicks; remembers recent visits
    across batches."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.memory = VisitorMemory()

    def write(self, batch: Sequence[WritableClick], skip_stored: bool) -> int:
        """Decide the whole batch, insert it (COPY on PostgreSQL), add to the rollups and record the click
        commissions it earns, in one transaction. Returns the clicks written (fewer than the batch when
        `skip_stored` finds some already stored).

        On SQLite the batch is decided in a read transaction first (plans and daily caps included): the write
        transaction holds the one database write lock, which the server's own writers (API, jobs) wait for
        meanwhile."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect().execution_options(sqlite_write=False) as reader:
                rows, facts, visits, commissions = self.decide(reader, batch, skip_stored)
                reader.rollback()
            with write_lock(self.engine), self.engine.begin() as connection:
                self._insert(connection, rows, facts, commissions)
        else:
            with self.engine.begin() as connection:
                rows, facts, visits, commissions = self.decide(connection, batch, skip_stored)
                self._insert(connection, rows, facts, commissions)
        self.memory.remember(visits)  # only once committed: a retried batch decides afresh
        return len(rows)

    @staticmethod
    def _insert(
        connection: Connection, rows: list[ClickRow], facts: list[UniqueFacts], commissions: ClickCommissions
    ) -> None:
        repository.insert_clicks(connection, rows, facts)
        repository.add_to_rollups(connection, rollup_increments(rows, facts))
        record_click_commissions(connection, commissions)  # after the clicks they name

    def decide(
        self,
        connection: Connection,
        clicks: Sequence[WritableClick],
        skip_stored: bool,
    ) -> tuple[list[ClickRow], list[UniqueFacts], dict[tuple[str, str], float], ClickCommissions]:
        """The rows, uniqueness, latest visits and click commissions of a batch. With `skip_stored` (a retry
        after a write whose outcome is unknown), clicks already stored are left out."""
        kept = list(clicks)
        rows = [click_row(click) for click in kept]
        if skip_stored:
            stored = repository.existing_click_ids(connection, [row[0] for row in rows])
            indexes = [index for index, row in enumerate(rows) if row[0] not in stored]
            kept, rows = [kept[index] for index in indexes], [rows[index] for index in indexes]
        facts, visits = self.memory.unique_facts(connection, kept, rows)
        commissions = price_clicks(connection, click_facts(rows, facts))
        return rows, facts, visits, commissions


def click_facts(rows: Sequence[ClickRow], uniques: Sequence[UniqueFacts]) -> list[ClickFacts]:
    """What click pricing needs of each unique human click of a batch (the others never earn)."""
    return [
        ClickFacts(row[0], row[1], row[3], datetime.fromisoformat(row[4]).replace(tzinfo=UTC), row[10], unique[0])
        for row, unique in zip(rows, uniques, strict=True)
        if earns_click_reward(row[10], unique[0])
    ]
