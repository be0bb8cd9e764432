from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.commission.factories import make_partner, make_plan
from tests.conftest import ProgramKeys


@pytest.fixture
def jane(client: TestClient, program: ProgramKeys) -> dict[str, Any]:
    """An approved partner (referral code JANE10) under a plan paying 5.00 per lead and 20% of sales."""
    make_plan(client, program)
    return make_partner(client, program, referral_code="JANE10")
