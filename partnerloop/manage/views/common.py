"""What the dashboard's pages share: the page renderer with the manager's context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from partnerloop.account.deps import ManagerContext
from partnerloop.kit.errors import AppError
from partnerloop.web.pages import redirect, render


def page(
    request: Request, ctx: ManagerContext, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return render(request, template, {"ctx": ctx, **context}, status_code=status_code)


def validation_message(error: ValidationError) -> str:
    """A form's first validation error as the page shows it: 'field: message.'"""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ()))
    return f"{field}: {first.get('msg', 'invalid')}."


def act_or_show(
    request: Request,
    ctx: ManagerContext,
    act: Callable[[], object],
    *,
    done: str,
    notice: str,
    show: Callable[..., Response],
) -> Response:
    """Run a page's action in a savepoint: done, a redirect to `done` with `notice`; refused, nothing
    changed and `show(request, ctx, error=..., status_code=...)` renders the page with the reason."""
    try:
        with ctx.session.begin_nested():
            act()
    except (ValidationError, AppError) as error:
        ctx.session.refresh(ctx.program)  # the savepoint rolled back: what the page shows is reread
        if isinstance(error, ValidationError):
            return show(request, ctx, error=validation_message(error), status_code=422)
        return show(request, ctx, error=error.message, status_code=error.status_code)
    return redirect(request, ctx.url(done), notice=notice)
