from __future__ import annotations

from collections.abc import Iterator

import pytest

from partnerloop.notify.email import configure_email
from tests.notify.smtp import mail_client, smtp  # noqa: F401


@pytest.fixture(autouse=True)
def _forget_email_settings() -> Iterator[None]:
    yield
    configure_email(None)
