"""`partnerloop secrets rotate`: every sealed column of every domain (this list knows them all, as the job
registry knows every job), re-encrypted with the first ENCRYPTION_KEY (kit/sealing.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, select, update

from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.kit.sealing import InvalidToken, reseal
from partnerloop.models import (
    HubSpotConnection,
    PayoutMethod,
    PayoutSettings,
    Program,
    SlackConnection,
    WebhookEndpoint,
)

# Every column that holds a sealed value: a new one is added here, or rotation leaves it under an old key.
SEALED: tuple[tuple[type[Any], str], ...] = (
    (Program, "stripe_webhook_secret_encrypted"),
    (Program, "stripe_secret_key_encrypted"),
    (PayoutSettings, "stripe_secret_encrypted"),
    (PayoutMethod, "details_encrypted"),
    (PayoutMethod, "tax_encrypted"),
    (WebhookEndpoint, "secret_encrypted"),
    (WebhookEndpoint, "previous_secret_encrypted"),
    (SlackConnection, "webhook_url_encrypted"),
    (HubSpotConnection, "token_encrypted"),
)


def sealed_columns() -> list[Column[Any]]:
    return [model.__table__.c[name] for model, name in SEALED]


@dataclass
class ResealCounts:
    """What one pass over a column found: re-encrypted, already under the first key, or unreadable."""

    resealed: int = 0
    current: int = 0
    unreadable: int = 0


def reseal_column(engine: Engine, column: Column[Any], settings: Settings, batch_size: int = 500) -> ResealCounts:
    """Re-encrypt every value of `column` that is not yet under the first key, `batch_size` rows per
    transaction (in primary-key order). A value changed meanwhile is left alone (it was sealed anew);
    one no key reads is counted and left as it is. Running it again finds everything current."""
    table = column.table
    (key,) = table.primary_key.columns
    counts = ResealCounts()
    after: Any = None
    while True:
        with transaction(engine) as session:
            query = select(key, column).where(column.is_not(None)).order_by(key).limit(batch_size)
            rows = session.execute(query if after is None else query.where(key > after)).all()
            for row_key, token in rows:
                try:
                    fresh = reseal(settings, token)
                except InvalidToken:
                    counts.unreadable += 1
                    continue
                if fresh is None:
                    counts.current += 1
                    continue
                session.execute(update(table).where(key == row_key, column == token).values({column.name: fresh}))
                counts.resealed += 1
        if len(rows) < batch_size:
            return counts
        after = rows[-1][0]


def rotate_secrets(engine: Engine, settings: Settings, batch_size: int = 500) -> dict[str, ResealCounts]:
    """Re-encrypt every sealed value with the first key; returns the counts per `table.column`."""
    return {
        f"{column.table.name}.{column.name}": reseal_column(engine, column, settings, batch_size)
        for column in sealed_columns()
    }
