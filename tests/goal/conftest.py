from __future__ import annotations

from tests.notify.smtp import mail_client, smtp  # noqa: F401
