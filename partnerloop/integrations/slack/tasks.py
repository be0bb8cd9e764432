"""`slack.post`: one Block Kit message to the program's incoming webhook, with slack-sdk's WebhookClient.

Split (jobs/queue.SplitJobHandler): the URL is read and decrypted in a short transaction, the POST goes
out with none open, and the outcome is written after. A 429 (Retry-After honoured), a 5xx or no answer
is tried again later as a new job due then; another 4xx (a removed webhook) is recorded and dropped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.fernet import InvalidToken
from slack_sdk.webhook import WebhookClient
from sqlalchemy.orm import Session

from partnerloop.integrations.sends import Outcome, finish_sends
from partnerloop.integrations.slack.rules import check_webhook_url
from partnerloop.integrations.slack.service import POST_JOB, get_connection
from partnerloop.jobs.queue import SplitJobHandler, split_job_handler
from partnerloop.kit.sealing import unseal
from partnerloop.models import SlackConnection
from partnerloop.webhook.service import webhook_settings

TIMEOUT_S = 10


@dataclass(frozen=True)
class Post:
    program_id: str
    payload: dict[str, Any]
    url: str | None
    problem: str | None  # not sent, why


@dataclass(frozen=True)
class Posted:
    post: Post
    status_code: int | None
    retry_after: str | None
    error: str | None


def _prepare(session: Session, payloads: list[dict[str, Any]]) -> list[Post]:
    settings = webhook_settings()
    posts = []
    for payload in payloads:
        program_id = str(payload["program_id"])
        connection = get_connection(session, program_id)
        if connection is None:
            continue  # disconnected meanwhile: nothing to post
        try:
            url: str | None = unseal(settings, connection.webhook_url_encrypted)
        except InvalidToken:
            posts.append(Post(program_id, payload, None, "the URL cannot be decrypted with ENCRYPTION_KEY"))
            continue
        problem = check_webhook_url(url or "", allow_private=settings.allow_private_integrations)
        posts.append(Post(program_id, payload, url if problem is None else None, problem))
    return posts


def _send(post: Post) -> Posted:
    if post.url is None:
        return Posted(post, None, None, post.problem)
    try:
        response = WebhookClient(post.url, timeout=TIMEOUT_S).send(
            text=str(post.payload["text"]), blocks=post.payload["blocks"]
        )
    except Exception as failure:  # no answer (refused, timeout, TLS): tried again later
        return Posted(post, None, None, f"{type(failure).__name__}: {failure}")
    headers = {key.lower(): value for key, value in (response.headers or {}).items()}
    retry_after = headers.get("retry-after")
    if isinstance(retry_after, list):
        retry_after = retry_after[0] if retry_after else None
    error = (
        None if 200 <= response.status_code < 300 else f"Slack answered {response.status_code}: {response.body[:200]}"
    )
    return Posted(post, response.status_code, retry_after, error)


def _perform(posts: list[Post]) -> list[Posted]:
    return [_send(post) for post in posts]  # one program's messages in the order recorded


def _posted(connection: SlackConnection, now: datetime) -> None:
    connection.last_posted_at = now


def _finish(session: Session, _payloads: list[dict[str, Any]], outcomes: list[Posted]) -> None:
    finish_sends(
        session,
        [Outcome(o.post.program_id, o.post.payload, o.post.url is not None, o.status_code, o.retry_after, o.error)
         for o in outcomes],
        job_kind=POST_JOB,
        connection=lambda session, program_id: get_connection(session, program_id, lock=True),
        succeeded=_posted,
    )  # fmt: skip


post = split_job_handler(POST_JOB, SplitJobHandler(prepare=_prepare, perform=_perform, finish=_finish, batch=10))
