from tests.notify.smtp import smtp  # noqa: F401
