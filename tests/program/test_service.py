from __future__ import annotations

import base64
import secrets

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.db import transaction
from partnerloop.kit.ids import sha256_hex
from partnerloop.models import ApiKey
from tests.conftest import ProgramKeys


def _random_bytes_of(api_key: str) -> bytes:
    body = api_key.removeprefix("pl_sk_")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def test_a_new_api_key_carries_256_random_bits_behind_its_prefix(program: ProgramKeys) -> None:
    assert program.api_key.startswith("pl_sk_")
    assert len(_random_bytes_of(program.api_key)) == 32


def test_an_api_key_minted_before_with_192_bits_still_opens_the_api(
    client: TestClient, engine: Engine, program: ProgramKeys
) -> None:
    legacy = f"pl_sk_{secrets.token_urlsafe(24)}"
    with transaction(engine) as session:
        session.add(ApiKey(program_id=program.id, name="legacy", key_hash=sha256_hex(legacy), key_prefix=legacy[:10]))
    response = client.get("/api/v1/program", headers={"Authorization": f"Bearer {legacy}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == program.id
    assert client.get("/api/v1/program", headers=program.headers).status_code == 200
