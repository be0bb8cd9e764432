"""Announcements and newsletters: written in Markdown, sent to an audience, shown in the portal, emailed
in batches through the job queue (never to banned or unsubscribed partners)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from markupsafe import escape
from sqlalchemy.orm import Session

from partnerloop.config import Settings
from partnerloop.engagement import repository
from partnerloop.engagement.markdown import render_markdown
from partnerloop.engagement.rules import AudienceKind, Member, in_audience, should_email
from partnerloop.engagement.schemas import AnnouncementFigures, AnnouncementIn, AnnouncementOut
from partnerloop.jobs.queue import enqueue
from partnerloop.kit.errors import InvalidInput, NotFound
from partnerloop.kit.time import as_utc, utc_now
from partnerloop.models import Announcement, Program
from partnerloop.notify import unsubscribe

SEND_BATCH_JOB = "engagement.announcement_batch"
BATCH_SIZE = 200
MAX_BATCH_ROUNDS = 8


class AnnouncementNotFound(NotFound):
    pass


class AudienceInvalid(InvalidInput):
    pass


class AudienceEmpty(InvalidInput):
    """A warning, not a send: the audience matches nobody."""


@dataclass(frozen=True)
class Audience:
    kind: str
    group_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "group_ids": list(self.group_ids)}


def audience_of(session: Session, program: Program, body: AnnouncementIn) -> Audience:
    """The audience the request asks for; unknown groups and tiers are a 422 naming group_ids."""
    kind: str = body.audience or (AudienceKind.GROUPS.value if body.group_ids else AudienceKind.ALL.value)
    group_ids = tuple(dict.fromkeys(body.group_ids or []))
    known = {group.id: tier for group, tier in repository.groups(session, program.id)}
    missing = [group_id for group_id in group_ids if group_id not in known]
    if missing:
        raise AudienceInvalid(f"group_ids: no group {', '.join(missing)} in this program.")
    if kind == AudienceKind.GROUPS.value and not group_ids:
        raise AudienceInvalid("group_ids: an audience of groups needs at least one group id.")
    if kind == AudienceKind.TIERS.value:
        ranked = [group_id for group_id, tier in known.items() if tier is not None and tier.rank is not None]
        if not group_ids:
            group_ids = tuple(sorted(ranked))
        elif not_tiers := [group_id for group_id in group_ids if group_id not in ranked]:
            raise AudienceInvalid(f"group_ids: {', '.join(not_tiers)} is a group without a rank, not a tier.")
    return Audience(kind, group_ids)


def _members(session: Session, program_id: str) -> list[tuple[Member, str, str]]:
    last_sales = repository.last_sale_at(session, program_id)
    return [
        (Member(partner_id, status, group_id, last_sales.get(partner_id), opted_out), name, email)
        for partner_id, status, group_id, name, email, opted_out in repository.members(session, program_id)
    ]


def recipients(
    session: Session, program_id: str, audience: Audience, email: bool, now: datetime
) -> list[tuple[str, bool]]:
    """(partner_id, to be emailed) for everyone in the audience."""
    groups = frozenset(audience.group_ids)
    return [
        (member.partner_id, email and should_email(member))
        for member, _name, _email in _members(session, program_id)
        if in_audience(member, audience.kind, groups, now)
    ]


def create_announcement(
    session: Session, program: Program, body: AnnouncementIn, *, now: datetime, actor: str
) -> Announcement:
    """Save the announcement and send it now (or at `send_at`); an audience matching nobody is a 422."""
    audience = audience_of(session, program, body)
    audience_now = recipients(session, program.id, audience, body.email, now)
    if not audience_now:
        raise AudienceEmpty(
            "audience: no approved partner is in this audience, so nothing was sent; pick another audience."
        )
    scheduled = body.send_at is not None and as_utc(body.send_at) > now
    announcement = Announcement(
        program_id=program.id,
        title=body.title,
        body=body.body,
        audience=audience.as_dict(),
        email=body.email,
        status="scheduled" if scheduled else "sending",
        send_at=as_utc(body.send_at) if body.send_at else None,
        created_by=actor,
    )
    repository.add_announcement(session, announcement)
    if not scheduled:
        _deliver(session, announcement, audience_now, now)
    return announcement


def _deliver(session: Session, announcement: Announcement, audience: Sequence[tuple[str, bool]], now: datetime) -> None:
    repository.add_deliveries(session, announcement, audience)
    announcement.status = "sent"
    announcement.sent_at = now
    announcement.recipients = len(audience)
    emailed = sorted(partner_id for partner_id, to_email in audience if to_email)
    for start in range(0, len(emailed), BATCH_SIZE):
        batch = emailed[start : start + BATCH_SIZE]
        enqueue(
            session,
            SEND_BATCH_JOB,
            {
                "announcement_id": announcement.id,
                "program_id": announcement.program_id,
                "partner_ids": batch,
                "round": 0,
            },
            program_id=announcement.program_id,
        )
    session.flush()


def send_due(session: Session, now: datetime) -> int:
    """Send the scheduled announcements whose time has come; returns how many."""
    sent = 0
    for program_id, announcement_id in repository.due_announcements(session, now):
        announcement = repository.announcement(session, program_id, announcement_id, lock=True)
        if announcement is None or announcement.status != "scheduled":
            continue
        raw = announcement.audience
        audience = Audience(str(raw.get("kind", "all")), tuple(raw.get("group_ids") or []))
        _deliver(session, announcement, recipients(session, program_id, audience, announcement.email, now), now)
        sent += 1
    return sent


def get_announcement(session: Session, program: Program, announcement_id: str) -> Announcement:
    found = repository.announcement(session, program.id, announcement_id)
    if found is None:
        raise AnnouncementNotFound(f"No announcement {announcement_id} in this program.")
    return found


def list_announcements(
    session: Session, program: Program, cursor: str | None, limit: int
) -> tuple[list[Announcement], str | None]:
    rows = repository.announcements(session, program.id, cursor, limit)
    return rows[:limit], rows[limit - 1].id if len(rows) > limit else None


def announcements_out(session: Session, announcements: Sequence[Announcement]) -> list[AnnouncementOut]:
    figures = repository.delivery_figures(session, [announcement.id for announcement in announcements])
    return [
        AnnouncementOut(
            id=announcement.id,
            title=announcement.title,
            body=announcement.body,
            body_html=render_markdown(announcement.body),
            audience=announcement.audience,
            group_ids=list(announcement.audience.get("group_ids") or []),
            email=announcement.email,
            status=announcement.status,
            send_at=announcement.send_at,
            sent_at=announcement.sent_at,
            created_at=announcement.created_at,
            figures=AnnouncementFigures(**figures.get(announcement.id, {})),
        )
        for announcement in announcements
    ]


# ------------------------------------------------------------------------------------ the email


def unsubscribe_token(secret_key: str, program_id: str, partner_id: str) -> str:
    """The token in an email's unsubscribe link: it turns off this partner's newsletters of this program only."""
    return unsubscribe.sign(secret_key, newsletter_scope(program_id, partner_id))


def newsletter_scope(program_id: str, partner_id: str) -> str:
    return f"{NEWSLETTER_TOPIC}:{program_id}:{partner_id}"


def list_unsubscribe_headers(settings: Settings, program_id: str, partner_id: str) -> dict[str, str]:
    """RFC 8058 one-click headers of an announcement email (notify's one unsubscribe address)."""
    return unsubscribe.headers(unsubscribe.url(settings, newsletter_scope(program_id, partner_id)))


def _stop_newsletters(session: Session, parts: list[str]) -> Program | None:
    """The newsletter topic of notify's unsubscribe address: [program_id, partner_id]."""
    if len(parts) != 2 or repository.enrollment(session, parts[0], parts[1]) is None:
        return None
    newsletter_choice(session, parts[0], parts[1], opt_out=True, now=utc_now())
    return session.get(Program, parts[0])


NEWSLETTER_TOPIC = "newsletter-unsubscribe"
unsubscribe.add_topic(NEWSLETTER_TOPIC, _stop_newsletters)


def click_token(secret_key: str, announcement_id: str, partner_id: str, url: str) -> str:
    """Signs a tracked link, so the click address forwards only to links the announcement holds."""
    return unsubscribe.sign(secret_key, f"announcement-click:{announcement_id}:{partner_id}:{url}")


def tracker(settings: Settings, announcement_id: str, partner_id: str) -> Callable[[str], str]:
    """href -> the address that records this partner's click on it and forwards there."""
    base = settings.base_url.rstrip("/")

    def track(url: str) -> str:
        token = click_token(settings.secret_key, announcement_id, partner_id, url)
        return f"{base}/news/click/{announcement_id}/{partner_id}?{urlencode({'u': url, 't': token})}"

    return track


def unsubscribe_url(settings: Settings, program_id: str, partner_id: str) -> str:
    token = unsubscribe_token(settings.secret_key, program_id, partner_id)
    return f"{settings.base_url.rstrip('/')}/unsubscribe/{program_id}/{partner_id}/{token}"


def email_for(
    settings: Settings, program: Program, announcement: Announcement, partner_id: str
) -> tuple[str, str, str]:
    """(subject, text, html) of the announcement's email to one partner."""
    base = settings.base_url.rstrip("/")
    read_url = f"{base}/partner/announcements/{announcement.id}?program={program.id}"
    leave_url = unsubscribe_url(settings, program.id, partner_id)
    subject = f"{announcement.title} · {program.name}"
    text = (
        f"{announcement.title}\n\n{announcement.body}\n\n"
        f"Read it in your portal: {read_url}\n\n"
        f"You get this as a partner of {program.name}. No more newsletters (account emails still come): {leave_url}\n"
    )
    html = (
        f"<h1>{escape(announcement.title)}</h1>\n"
        f"{render_markdown(announcement.body, heading_offset=1, track=tracker(settings, announcement.id, partner_id))}\n"
        f'<p><a href="{escape(read_url)}">Read it in your portal</a></p>\n'
        f'<p style="color:#666;font-size:small">You get this as a partner of {escape(program.name)}. '
        f'<a href="{escape(leave_url)}">No more newsletters</a> (account emails still come).</p>'
    )
    return subject, text, html


def newsletter_choice(session: Session, program_id: str, partner_id: str, *, opt_out: bool, now: datetime) -> None:
    choices = repository.partner_choices(session, program_id, partner_id)
    choices.newsletter_opt_out = opt_out
    choices.updated_at = now
    session.flush()


def retry_later(now: datetime, round_: int) -> datetime:
    return now + timedelta(seconds=min(3600, 30 * 2**round_))
