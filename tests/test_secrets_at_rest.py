"""Secrets at rest (docs/security.md): the program's Stripe secrets are sealed, the key never falls back to
a public default (generated beside SQLite, required on PostgreSQL), and `partnerloop secrets rotate`
moves every sealed value to a new key. The CLI runs as a process, on the suite's database."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from partnerloop.app import create_app
from partnerloop.config import Settings
from partnerloop.db import transaction
from partnerloop.kit.sealing import MissingEncryptionKey, encryption_keys, unseal
from partnerloop.secrets_rotation import sealed_columns
from tests.conftest import ProgramKeys, make_settings
from tests.integrations.stripe_kit import SECRET, connect, new_event, post_event

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "partnerloop.cli", *args],
        capture_output=True, text=True, env={**base, **env}, timeout=120, check=False,
    )  # fmt: skip


def _sealed_values(engine: Engine) -> dict[str, list[str]]:
    """Every sealed value in the database, per `table.column`."""
    found: dict[str, list[str]] = {}
    with transaction(engine, writes=False) as session:
        for column in sealed_columns():
            tokens = session.scalars(select(column).where(column.is_not(None))).all()
            found[f"{column.table.name}.{column.name}"] = list(tokens)
    return found


def _readable(settings: Settings, sealed: dict[str, list[str]]) -> dict[str, list[str]]:
    return {column: sorted(unseal(settings, token) for token in tokens) for column, tokens in sealed.items()}


@pytest.fixture
def client_with_key_a(engine: Engine, database_url: str) -> Iterator[TestClient]:
    settings = make_settings(
        database_url, encryption_key=KEY_A, allow_private_webhooks=True, allow_private_integrations=True,
        run_jobs_in_process=False,
    )  # fmt: skip
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        yield client


def test_no_stripe_secret_is_stored_in_clear_after_setting_it_through_the_api(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    connect(client, program, stripe_secret_key="sk_live_never_in_clear")
    with engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM programs WHERE id = :id"), {"id": program.id}).mappings().one()
    stored = " ".join(str(value) for value in row.values())
    assert SECRET not in stored and "sk_live_never_in_clear" not in stored
    shown = client.get("/api/v1/program", headers=program.headers).json()
    assert shown["stripe_webhook_secret_set"] is True and shown["stripe_secret_key_set"] is True
    assert SECRET not in str(shown) and "sk_live_never_in_clear" not in str(shown)
    # still read where it is needed: Stripe's signed events verify
    assert (
        post_event(client, program, new_event("customer.created", {"id": "cus_1", "object": "customer"})).status_code
        == 200
    )
    cleared = client.patch("/api/v1/program", json={"stripe_secret_key": None}, headers=program.headers).json()
    assert cleared["stripe_secret_key_set"] is False and cleared["stripe_webhook_secret_set"] is True


def test_without_a_key_sqlite_gets_one_generated_beside_the_database_once_and_reused(tmp_path: Path) -> None:
    database = tmp_path / "shop.db"
    env = {"DATABASE_URL": f"sqlite:///{database}"}
    first = _cli("program", "create", "--name", "Shop", "--domain", "shop.test", "--json", env=env)
    assert first.returncode == 0, first.stderr
    key_file = tmp_path / "shop.db.key"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    Fernet(key.encode())  # a real key
    assert "generated a key" in first.stderr

    # a later start reuses it: what this process seals with the file's key, the next one reads as current
    settings = Settings(database_url=f"sqlite:///{database}", encryption_key=None, environment="test")
    assert encryption_keys(settings) == [key]
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        api_key = json.loads(first.stdout)["api_key"]
        patched = client.patch("/api/v1/program", json={"stripe_webhook_secret": SECRET},
                               headers={"Authorization": f"Bearer {api_key}"})  # fmt: skip
        assert patched.status_code == 200, patched.text
    again = _cli("secrets", "rotate", env=env)
    assert again.returncode == 0, again.stderr
    assert "total: 0 re-encrypted, 1 already current, 0 unreadable" in again.stdout
    assert key_file.read_text().strip() == key and "generated a key" not in again.stderr


@pytest.mark.parametrize("command", [["migrate"], ["worker"], ["serve", "--port", "1"], ["secrets", "rotate"]],
                         ids=["migrate", "worker", "serve", "secrets rotate"])  # fmt: skip
def test_postgresql_without_a_key_refuses_to_start_naming_encryption_key(command: list[str]) -> None:
    env = {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere", "ENVIRONMENT": "production",
           "SECRET_KEY": "a-real-secret-for-this-test"}  # fmt: skip
    done = _cli(*command, env=env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "ENCRYPTION_KEY is not set" in done.stderr and "PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_app_on_postgresql_without_a_key_is_not_created() -> None:
    with pytest.raises(MissingEncryptionKey, match="ENCRYPTION_KEY"):
        create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/nowhere", encryption_key=None))


def test_rotation_moves_every_sealed_value_to_the_new_key(
    client_with_key_a: TestClient, engine: Engine, database_url: str, program: ProgramKeys
) -> None:
    client, headers = client_with_key_a, program.headers
    connect(client, program, stripe_secret_key="sk_test_rotate")
    assert client.patch("/api/v1/payouts/settings", json={"stripe_secret_key": "sk_test_payouts"},
                        headers=headers).status_code == 200  # fmt: skip
    for n in range(3):
        partner = client.post("/api/v1/partners", json={"email": f"r{n}@example.com", "name": "R"}, headers=headers)
        method = {"type": "paypal", "email": f"pay{n}@example.com"}
        put = client.put(f"/api/v1/partners/{partner.json()['id']}/payout-method", json=method, headers=headers)
        assert put.status_code == 200, put.text
    endpoint = client.post("/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]},
                           headers=headers)  # fmt: skip
    assert endpoint.status_code == 201, endpoint.text
    slack = {"webhook_url": "http://127.0.0.1:9/services/T1/B1/x", "events": ["sale.created"]}
    assert client.put("/api/v1/integrations/slack", json=slack, headers=headers).status_code == 200
    hubspot = client.put("/api/v1/integrations/hubspot", json={"access_token": "pat-na1-rotate"}, headers=headers)
    assert hubspot.status_code == 200, hubspot.text

    with_a = make_settings(database_url, encryption_key=KEY_A)
    with_b = make_settings(database_url, encryption_key=KEY_B)
    before = _sealed_values(engine)
    count = sum(len(tokens) for tokens in before.values())
    assert {column for column, tokens in before.items() if tokens} >= {
        "programs.stripe_webhook_secret_encrypted", "programs.stripe_secret_key_encrypted",
        "payout_settings.stripe_secret_encrypted", "payout_methods.details_encrypted",
        "webhook_endpoints.secret_encrypted", "slack_connections.webhook_url_encrypted",
        "hubspot_connections.token_encrypted",
    }  # fmt: skip
    clear = _readable(with_a, before)
    assert "sk_test_rotate" in clear["programs.stripe_secret_key_encrypted"]
    with pytest.raises(InvalidToken):
        _readable(with_b, before)

    rotated = _cli("secrets", "rotate", "--batch-size", "2", env={"DATABASE_URL": database_url,
                                                                   "ENCRYPTION_KEY": f"{KEY_B},{KEY_A}"})  # fmt: skip
    assert rotated.returncode == 0, rotated.stderr
    assert f"total: {count} re-encrypted, 0 already current, 0 unreadable" in rotated.stdout
    assert "payout_methods.details_encrypted: 3 re-encrypted" in rotated.stdout
    again = _cli("secrets", "rotate", env={"DATABASE_URL": database_url, "ENCRYPTION_KEY": f"{KEY_B},{KEY_A}"})
    assert f"total: 0 re-encrypted, {count} already current, 0 unreadable" in again.stdout

    assert _readable(with_b, _sealed_values(engine)) == clear  # B alone reads everything
    only_b = make_settings(database_url, encryption_key=KEY_B, run_jobs_in_process=False)
    with TestClient(create_app(only_b), base_url="http://testserver") as client_b:
        event = new_event("customer.created", {"id": "cus_2", "object": "customer"})
        assert post_event(client_b, program, event).status_code == 200


def _sealed_the_old_way(secret_key: str, value: str) -> str:
    """What earlier versions stored without PAYOUT_ENCRYPTION_KEY: Fernet with a key derived from SECRET_KEY."""
    digest = hashlib.sha256(b"partnerloop-payout-details:" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest)).encrypt(value.encode()).decode()


def test_values_sealed_with_the_secret_key_derived_key_still_decrypt_and_rotate_away(
    engine: Engine, database_url: str, program: ProgramKeys, settings: Settings
) -> None:
    app = create_app(make_settings(database_url, allow_private_webhooks=True, run_jobs_in_process=False))
    with TestClient(app, base_url="http://testserver") as client:
        endpoint = client.post("/api/v1/webhook-endpoints", json={"url": "http://127.0.0.1:9/x", "events": ["*"]},
                               headers=program.headers)  # fmt: skip
        assert endpoint.status_code == 201, endpoint.text
    old_token = _sealed_the_old_way(settings.secret_key, "whsec_from_an_older_version")
    with engine.begin() as connection:
        connection.execute(text("UPDATE webhook_endpoints SET secret_encrypted = :t"), {"t": old_token})
    assert unseal(settings, old_token) == "whsec_from_an_older_version"

    rotated = _cli(
        "secrets", "rotate", env={"DATABASE_URL": database_url, "ENCRYPTION_KEY": settings.encryption_key or ""}
    )
    assert rotated.returncode == 0, rotated.stderr
    assert "webhook_endpoints.secret_encrypted: 1 re-encrypted" in rotated.stdout
    (token,) = _sealed_values(engine)["webhook_endpoints.secret_encrypted"]
    assert token != old_token
    assert unseal(make_settings(database_url, secret_key="another-secret-key"), token) == "whsec_from_an_older_version"


def test_a_value_no_key_reads_is_reported_and_left_alone(
    client: TestClient, engine: Engine, database_url: str, program: ProgramKeys, settings: Settings
) -> None:
    connect(client, program)
    foreign = Fernet(Fernet.generate_key()).encrypt(b"whsec_lost").decode()
    with engine.begin() as connection:
        connection.execute(text("UPDATE programs SET stripe_webhook_secret_encrypted = :t"), {"t": foreign})
    done = _cli(
        "secrets", "rotate", env={"DATABASE_URL": database_url, "ENCRYPTION_KEY": settings.encryption_key or ""}
    )
    assert done.returncode == 1
    assert "programs.stripe_webhook_secret_encrypted: 0 re-encrypted, 0 already current, 1 unreadable" in done.stdout
    assert _sealed_values(engine)["programs.stripe_webhook_secret_encrypted"] == [foreign]
