"""Migrations from an empty database reach exactly the models' schema, and go back down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from partnerloop import migrate
from partnerloop.config import Settings
from partnerloop.db import make_engine
from partnerloop.models import Base


@pytest.fixture
def empty_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    if not database_url.startswith("postgres"):
        engine = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'migrations.db'}"))
        yield engine
        engine.dispose()
        return
    url = make_url(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{url.database}_migrations"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(Settings(database_url=url.set(database=name).render_as_string(hide_password=False)))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def test_migrations_from_empty_match_the_models(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    assert _differences(empty_engine) == []
    migrate.upgrade(empty_engine)  # a second run is a no-op


def test_migrations_go_down_to_empty_and_up_again(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_engine)
    assert _differences(empty_engine) == []


def test_0014_seals_the_stripe_secrets_of_existing_programs_and_0013_gets_them_back(empty_engine: Engine) -> None:
    from partnerloop.kit.sealing import unseal

    settings = Settings(database_url="sqlite://", encryption_key=Fernet.generate_key().decode())
    migrate.upgrade(empty_engine, "0013")
    now = "2026-01-01 00:00:00+00:00"
    with empty_engine.begin() as connection:
        connection.execute(text("INSERT INTO workspaces (id, name, created_at) VALUES ('w1', 'W', :now)"), {"now": now})
        for program_id, webhook_secret, secret_key in (
            ("p1", "whsec_old", "sk_live_old"),
            ("p2", None, ""),
            ("p3", None, None),
        ):
            connection.execute(
                text(
                    "INSERT INTO programs (id, workspace_id, name, kind, currency, allowed_domains, link_params, "
                    "link_domains, cookie_days, attribution_model, hold_days, min_payout_amount, publishable_key, "
                    "stripe_test_mode, created_at, updated_at, stripe_webhook_secret, stripe_secret_key) VALUES "
                    "(:id, 'w1', 'P', 'affiliate', 'usd', '[]', '[]', '[]', 90, 'last_click', 30, 5000, :pk, "
                    "true, :now, :now, :webhook_secret, :secret_key)"
                ),
                {"id": program_id, "pk": f"pl_pk_{program_id}", "now": now, "webhook_secret": webhook_secret,
                 "secret_key": secret_key},
            )  # fmt: skip
    migrate.upgrade(empty_engine, settings=settings)
    with empty_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, stripe_webhook_secret_encrypted, stripe_secret_key_encrypted FROM programs ORDER BY id")
        ).all()
    assert [(row[0], row[1] is not None, row[2] is not None) for row in rows] == [
        ("p1", True, True), ("p2", False, False), ("p3", False, False),
    ]  # fmt: skip
    assert unseal(settings, rows[0][1]) == "whsec_old" and unseal(settings, rows[0][2]) == "sk_live_old"
    assert "whsec_old" not in rows[0][1] and "sk_live_old" not in rows[0][2]

    migrate.downgrade(empty_engine, "0013", settings=settings)
    with empty_engine.connect() as connection:
        back = connection.execute(text("SELECT stripe_webhook_secret, stripe_secret_key FROM programs WHERE id = 'p1'"))
        assert back.one() == ("whsec_old", "sk_live_old")
