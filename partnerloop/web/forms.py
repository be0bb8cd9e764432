"""What every page's handlers share: the posted form, its fields, the settings, the country list."""

from __future__ import annotations

from typing import Annotated

from babel import Locale
from fastapi import Depends, Request
from starlette.datastructures import FormData

from partnerloop.config import Settings

# ISO 3166 alpha-2 codes with English names, by name (babel's CLDR data: no list of our own to keep up).
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}
COUNTRIES: list[tuple[str, str]] = sorted(
    (
        (code.lower(), name)
        for code, name in Locale("en").territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    ),
    key=lambda item: item[1],
)
COUNTRY_NAMES = dict(COUNTRIES)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def posted_form(request: Request) -> FormData:
    """The posted form (parsed once, cached by Starlette), for repeated fields such as ticked rows."""
    return await request.form()


async def posted_fields(request: Request) -> dict[str, str]:
    """Every text field of the posted form."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


PostedForm = Annotated[FormData, Depends(posted_form)]
PostedFields = Annotated[dict[str, str], Depends(posted_fields)]


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def texts(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str)]
