"""The in-process link cache: /go/{key} resolves with a dict lookup, never a database round trip.

Loaded whole at start; kept fresh by (1) `reload_key(key)`, which link/changes.py calls right after a
commit, for changes made by this process, and (2) a poll of links and programs whose
`updated_at` moved, for changes made by other processes (applied within one poll interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import inf
from urllib.parse import quote, urlsplit

from sqlalchemy import Connection, Engine

from partnerloop.config import Settings
from partnerloop.kit.errors import InvalidInput
from partnerloop.kit.time import as_utc
from partnerloop.kit.urls import ascii_host, check_destination, normalize_domain
from partnerloop.link import changes as link_changes
from partnerloop.link.rules import utm_params, with_utm
from partnerloop.tracking import repository
from partnerloop.tracking.repository import LinkRow, ProgramRow

log = logging.getLogger("partnerloop.tracking")

CLICK_ID_PARAM = "pl_cid"
# Rows whose updated_at is this close to the newest one seen are read again on the next poll, so a
# transaction that stamped updated_at and committed up to this much later is not missed.
POLL_OVERLAP = timedelta(seconds=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """What the redirect needs, prepared so that answering is two concatenations."""

    key: str
    link_id: str
    program_id: str
    partner_id: str
    location_head: bytes  # the destination up to the click id: "https://shop.test/p?a=1&pl_cid="
    location_tail: bytes  # what follows the click id: the fragment ("#plans") or b""
    cookie_attributes: bytes  # "; Max-Age=…; Path=/; SameSite=Lax; HttpOnly"
    secure_cookie_attributes: bytes  # the same plus "; Secure", for https requests
    expires_at: float = inf  # epoch seconds; from then on the link answers `expired_location` (or 410)
    expired_location: bytes | None = None  # the link's fallback URL, else the program's, else None: a 410
    utm: tuple[tuple[str, str], ...] = ()  # already in location_head; kept for ?to= deep links
    allowed_domains: tuple[str, ...] = ()  # where ?to= deep links may go
    link_id_ascii: bytes = b""  # link_id as bytes, signed into each click id (set by target_for)


@dataclass(frozen=True, slots=True)
class LinkHost:
    """A program's link domain: `GET /{key}` there resolves the program's links."""

    program_id: str
    unknown_location: bytes | None  # the program's fallback URL, answered for unknown keys (else a 404)


def _ascii_only(text: str) -> str:
    # Percent-encode what a header cannot carry (non-ASCII), leaving the URL's own escapes alone.
    return "".join(char if ord(char) < 128 else quote(char, safe="") for char in text)


def split_destination(url: str) -> tuple[bytes, bytes]:
    """The destination around the click id: query and fragment kept, an existing pl_cid replaced."""
    parts = urlsplit(url)
    host = ascii_host(parts.hostname or "")
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    kept = [item for item in parts.query.split("&") if item and item.split("=", 1)[0] != CLICK_ID_PARAM]
    query = "".join(item + "&" for item in kept)
    head = f"{parts.scheme}://{netloc}{_ascii_only(parts.path)}?{_ascii_only(query)}{CLICK_ID_PARAM}="
    tail = f"#{_ascii_only(parts.fragment)}" if parts.fragment else ""
    return head.encode("ascii"), tail.encode("ascii")


def header_url(url: str) -> bytes:
    """A URL as a Location header: host in ASCII, everything else percent-encoded where not ASCII."""
    parts = urlsplit(url)
    host = ascii_host(parts.hostname or "")
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    query = f"?{_ascii_only(parts.query)}" if parts.query else ""
    fragment = f"#{_ascii_only(parts.fragment)}" if parts.fragment else ""
    return f"{parts.scheme}://{netloc}{_ascii_only(parts.path)}{query}{fragment}".encode("ascii")


def fallback_location(candidates: Iterable[str | None], allowed_domains: list[str]) -> bytes | None:
    """The first candidate fallback URL that is still on the allowed domains, as a Location header."""
    for url in candidates:
        if not url:
            continue
        try:
            return header_url(check_destination(url, allowed_domains))
        except InvalidInput:
            continue
    return None


def hosts_of(programs: Iterable[ProgramRow]) -> dict[bytes, LinkHost]:
    """Host header (lower case, no port) -> link domain, over every program. A host claimed by two programs
    (the API refuses that; a race could not) goes to the program with the smaller id, deterministically."""
    hosts: dict[bytes, LinkHost] = {}
    for program in sorted(programs, key=lambda item: item.program_id, reverse=True):
        unknown = fallback_location([program.fallback_url], program.allowed_domains)
        for domain in program.link_domains:
            try:
                host = normalize_domain(str(domain)).encode("ascii")
            except InvalidInput:
                continue
            hosts[host] = LinkHost(program_id=program.program_id, unknown_location=unknown)
    return hosts


def target_for(row: LinkRow) -> LinkTarget | None:
    """The redirect target of a link, or None when it must not redirect (deleted, or off the
    program's allowed domains since the program changed them)."""
    if row.deleted:
        return None
    try:
        destination = check_destination(row.destination_url, row.allowed_domains)
    except InvalidInput:
        return None
    utm = utm_params(row.utm)
    head, tail = split_destination(with_utm(destination, utm))
    cookie = f"; Max-Age={max(row.cookie_days, 0) * 86400}; Path=/; SameSite=Lax; HttpOnly".encode("ascii")
    return LinkTarget(
        key=row.key,
        link_id=row.link_id,
        program_id=row.program_id,
        partner_id=row.partner_id,
        location_head=head,
        location_tail=tail,
        cookie_attributes=cookie,
        secure_cookie_attributes=cookie + b"; Secure",
        expires_at=inf if row.expires_at is None else as_utc(row.expires_at).timestamp(),
        expired_location=fallback_location([row.fallback_url, row.program_fallback_url], row.allowed_domains),
        utm=utm,
        allowed_domains=tuple(row.allowed_domains),
        link_id_ascii=row.link_id.encode("ascii", "replace"),
    )


class LinkCache:
    """Link key -> LinkTarget for every live link; `get` is a plain dict lookup."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.poll_interval_s = settings.link_cache_poll_ms / 1000
        self._targets: dict[str, LinkTarget] = {}
        self.get = self._targets.get  # bound once: the redirect calls it per request
        # Link domains: replaced whole (never mutated) when a program changes, so a reader sees one state.
        self.link_hosts: dict[bytes, LinkHost] = {}
        self._programs: dict[str, ProgramRow] = {}
        # One reader at a time, each applying what it read before releasing: a read that started after
        # a commit is always applied after any read that started before it, so stale data never wins.
        self._lock = threading.Lock()
        self._links_seen_until = _EPOCH
        self._programs_seen_until = _EPOCH
        self._poll_task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._targets)

    async def start(self) -> None:
        """Load every live link, then poll for changes made elsewhere."""
        link_changes.subscribe(self.reload_key)  # before loading: a commit during the load still reaches us
        await asyncio.to_thread(self._load_all)
        self._poll_task = asyncio.create_task(self._poll_forever(), name="link-cache-poll")

    async def stop(self) -> None:
        link_changes.unsubscribe(self.reload_key)
        if self._poll_task is not None:
            self._poll_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poll_task
            self._poll_task = None

    def reload_key(self, key: str) -> None:
        with self._lock, self._reading() as connection:
            row = repository.link_by_key(connection, key)
            self._apply([] if row is None else [row])
            if row is None:
                self._targets.pop(key, None)

    def poll_once(self) -> None:
        """Apply links and programs changed since the last poll (blocking)."""
        with self._lock, self._reading() as connection:
            links = repository.links_changed_since(connection, self._links_seen_until - POLL_OVERLAP)
            programs = repository.programs_changed_since(connection, self._programs_seen_until - POLL_OVERLAP)
            program_links = repository.live_links_of_programs(connection, [program.program_id for program in programs])
            # Applied in the order read: on PostgreSQL each statement sees the latest commits, so the
            # program query, read last, is the newest (anything older is read again next poll).
            self._apply(links)
            self._apply(program_links)
            self._apply_programs(programs)
            self._advance(links, [program.updated_at for program in programs])

    def _load_all(self) -> None:
        with self._lock, self._reading() as connection:
            rows = repository.live_links(connection)
            targets = {row.key: target for row in rows if (target := target_for(row)) is not None}
            self._targets.update(targets)  # in place, never empty in between: requests may be reading
            for key in self._targets.keys() - targets.keys():
                self._targets.pop(key, None)
            programs = repository.all_programs(connection)
            self._programs = {}
            self._apply_programs(programs)
            self._advance(rows, [program.updated_at for program in programs])
        log.info("link cache: %d links loaded", len(targets))

    def _apply(self, rows: Iterable[LinkRow]) -> None:
        for row in rows:
            target = target_for(row)
            if target is None:
                self._targets.pop(row.key, None)
            else:
                self._targets[row.key] = target

    def _apply_programs(self, programs: Iterable[ProgramRow]) -> None:
        changed = False
        for program in programs:
            if program.link_domains or program.program_id in self._programs:
                self._programs[program.program_id] = program
                changed = True
        if changed:
            self.link_hosts = hosts_of(self._programs.values())

    def _advance(self, links: list[LinkRow], program_times: list[datetime]) -> None:
        if links:
            self._links_seen_until = max(self._links_seen_until, *(row.link_updated_at for row in links))
        if program_times:
            self._programs_seen_until = max(self._programs_seen_until, *program_times)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Connection]:
        with self.engine.connect().execution_options(sqlite_write=False) as connection:
            yield connection
            connection.rollback()

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            try:
                await asyncio.to_thread(self.poll_once)
            except Exception:  # the database may be away for a moment: serve what we have, retry
                log.exception("link cache: poll failed")
