"""What the dashboard's pages share: the page renderer with the manager's context."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from partnerloop.account.deps import ManagerContext
from partnerloop.web.pages import render


def page(
    request: Request, ctx: ManagerContext, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return render(request, template, {"ctx": ctx, **context}, status_code=status_code)
