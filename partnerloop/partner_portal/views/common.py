"""What the portal's pages share: settings, the posted form as a dict, the country list."""

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


async def posted_fields(request: Request) -> dict[str, str]:
    """Every text field of the posted form (the form is parsed once and cached by Starlette)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def posted_form(request: Request) -> FormData:
    """The posted form itself, for fields that repeat (checkboxes)."""
    return await request.form()


PostedFields = Annotated[dict[str, str], Depends(posted_fields)]
PostedForm = Annotated[FormData, Depends(posted_form)]
