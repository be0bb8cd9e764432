from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.notify.smtp import mail_client, smtp  # noqa: F401


@pytest.fixture
def second_browser(mail_client: TestClient) -> TestClient:  # noqa: F811
    """Another browser (its own cookies) on the same running app."""
    return TestClient(mail_client.app, base_url="http://testserver")
