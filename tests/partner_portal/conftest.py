from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from partnerloop.app import create_app
from tests.conftest import make_settings
from tests.notify.smtp import SmtpRecorder, smtp  # noqa: F401


@pytest.fixture
def mail_client(engine: Engine, database_url: str, smtp: SmtpRecorder) -> Iterator[TestClient]:  # noqa: F811
    """The app with SMTP_URL pointing at the loopback recorder."""
    app = create_app(make_settings(database_url, smtp_url=smtp.url))
    with TestClient(app, base_url="http://testserver") as client:
        yield client
