"""Helpers for the portal's page tests: apply like a browser, count rows, set a program's form up."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select

from partnerloop.db import transaction
from partnerloop.models import Program
from partnerloop.partner_portal.service import application as application_service
from tests.account.helpers import post_form

APPLICANT_PASSWORD = "sunny meadow 42"


def apply(client: TestClient, program_id: str, **fields: Any) -> Response:
    """Post the public application form of the program, as a browser that opened it first."""
    data: dict[str, Any] = {
        "name": "Jo Applicant",
        "email": "jo@creator.example",
        "password": APPLICANT_PASSWORD,
        "website": "https://jo.example",
        "country": "de",
        "accept_terms": "yes",
    }
    data.update(fields)
    data = {key: value for key, value in data.items() if value is not None}
    return post_form(client, f"/apply/{program_id}", data, page=f"/apply/{program_id}")


def count(engine: Engine, model: type) -> int:
    with transaction(engine, writes=False) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def set_form(engine: Engine, program_id: str, **settings: Any) -> None:
    with transaction(engine) as session:
        program = session.get_one(Program, program_id)
        application_service.save_form(session, program, application_service.FormSettings(**settings))


def add_question(engine: Engine, program_id: str, label: str, kind: str = "text", required: bool = True,
                 options: str = "") -> str:  # fmt: skip
    with transaction(engine) as session:
        program = session.get_one(Program, program_id)
        question = application_service.add_question(
            session, program, label=label, kind=kind, required=required, options_text=options
        )
        return question.id
