"""The one error base: every expected business condition is an AppError with a status code."""

from __future__ import annotations


class AppError(Exception):
    """Rendered as {"error": <class name>, "detail": <message>} with `status_code`."""

    status_code: int = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def headers(self) -> dict[str, str]:
        """Response headers that go with the error (none unless a subclass says)."""
        return {}


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class InvalidInput(AppError):
    status_code = 422


class Unauthorized(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class RateLimited(AppError):
    """Too many requests: the answer says, in Retry-After, how many seconds to wait."""

    status_code = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class DatabaseUnavailable(AppError):
    """The database takes no writes now (unreachable, disk full, read-only): retry after Retry-After seconds."""

    status_code = 503

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}
