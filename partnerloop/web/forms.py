"""What the dashboard's pages share: the posted form, the page renderer, settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from partnerloop.account.deps import ManagerContext, render
from partnerloop.config import Settings


async def posted_form(request: Request) -> FormData:
    """The posted form (parsed once, cached by Starlette), for repeated fields such as ticked rows."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str)]


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def page(
    request: Request, ctx: ManagerContext, template: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return render(request, template, {"ctx": ctx, **context}, status_code=status_code)
