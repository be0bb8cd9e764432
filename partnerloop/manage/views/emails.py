"""/manage/emails: the Sent emails page. Without SMTP_URL (and outside production) emails are written to the
log and kept; the workspace's owner reads them here to finish invitations, confirmations and resets."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape

from partnerloop.account import service as account_service
from partnerloop.account.deps import ManagerContext, ManagerPage
from partnerloop.account.rules import Role
from partnerloop.manage.views.common import page
from partnerloop.notify import service as notify_service
from partnerloop.notify.email import keeps_unsent_emails
from partnerloop.partner import service as partner_service
from partnerloop.web.forms import settings_of
from partnerloop.web.pages import PageForbidden, PageNotFound

router = APIRouter(include_in_schema=False)

_URL = re.compile(r"https?://[^\s<>\"]+")


def linked(text: str) -> Markup:
    """The plain text with its URLs as links (escaped first), so a developer can open them."""
    out, last = [], 0
    for found in _URL.finditer(text):
        out.append(escape(text[last : found.start()]))
        url = found.group(0)
        out.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = found.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def _checked(request: Request, ctx: ManagerContext) -> None:
    if ctx.role is not Role.OWNER:
        raise PageForbidden("Only the workspace's owner can read the emails this server kept.")
    if not keeps_unsent_emails(settings_of(request)):
        raise PageNotFound("Emails are sent through SMTP_URL here: none are kept to read on this page.")


def _workspace_addresses(ctx: ManagerContext) -> set[str]:
    """Whom this workspace writes to: its team, the people invited to it and its partners. The page shows
    only their emails, never another workspace's (the kept emails carry no workspace of their own)."""
    workspace_id = ctx.program.workspace_id
    team = {user.email for _member, user in account_service.members_of_workspace(ctx.session, workspace_id)}
    invited = {invitation.email for invitation in account_service.open_invitations(ctx.session, workspace_id, "member")}
    return team | invited | partner_service.emails_of_workspace(ctx.session, workspace_id)


@router.get("/manage/emails")
def sent_emails(request: Request, ctx: ManagerPage) -> Response:
    _checked(request, ctx)
    emails = notify_service.kept_emails(ctx.session, to=_workspace_addresses(ctx), limit=100)
    return page(request, ctx, "manage/emails.html", {"emails": emails})


@router.get("/manage/emails/{email_id}")
def sent_email(request: Request, ctx: ManagerPage, email_id: str) -> Response:
    _checked(request, ctx)
    email = notify_service.kept_email(ctx.session, email_id, to=_workspace_addresses(ctx))
    if email is None:
        raise PageNotFound("No such email (only the newest 500 are kept).")
    return page(request, ctx, "manage/email.html", {"email": email, "body": linked(email.text)})
