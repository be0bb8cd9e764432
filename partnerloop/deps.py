"""Request wiring: the session per request, the program behind the API key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from partnerloop.commission import service as commission_service
from partnerloop.config import Settings
from partnerloop.conversion import replay
from partnerloop.db import transaction
from partnerloop.engagement.service import tiers as engagement_tiers
from partnerloop.kit.errors import RateLimited, Unauthorized
from partnerloop.models import Program
from partnerloop.partner.service import PerksOf, SettleCommissions
from partnerloop.plan.simulation import SaleShares
from partnerloop.program import repository as program_repository

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine_dep(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    with transaction(request.app.state.engine, writes=request.method not in READ_METHODS) as session:
        yield session


DbSession = Annotated[Session, Depends(get_session, scope="function")]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


@dataclass(frozen=True)
class ApiContext:
    session: Session
    program: Program
    settings: Settings
    api_key_id: str = ""
    api_key_name: str = ""

    @property
    def actor(self) -> str:
        """Who acts, as recorded with manual commissions and ledger postings."""
        return f"api_key:{self.api_key_id} ({self.api_key_name})" if self.api_key_id else "api"


def count_api_request(request: Request, api_key_id: str) -> None:
    """Count one request of the secret key `api_key_id`; RateLimited (429, Retry-After) when it is over
    `API_RATE_LIMIT`. Every endpoint that takes the secret key calls this once the key is found."""
    wait_s = request.app.state.api_key_limit.hit(api_key_id)
    if wait_s is not None:
        limit = request.app.state.settings.api_rate_limit
        raise RateLimited(f"This API key is over its limit of {limit}; retry in {wait_s} s.", wait_s)


def refused_key(token: str) -> Unauthorized:
    """The 401 for a bearer token that is no live secret key, saying which key to send instead."""
    if token.startswith("pl_pk_"):
        return Unauthorized(
            "This is the program's publishable key (pl_pk_…), for the site snippet and the referral widget; "
            "the API takes a secret key (pl_sk_…): Settings → API keys in the dashboard."
        )
    return Unauthorized("The API key is not valid (unknown or revoked).")


def api_context(request: Request, session: DbSession) -> ApiContext:
    """The program whose secret API key is in `Authorization: Bearer …`; 401 otherwise, 429 (with
    Retry-After) when the key is over `API_RATE_LIMIT`, counted per key after it is found."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Send the program's secret API key as 'Authorization: Bearer <api_key>'.")
    found = program_repository.program_and_key_for_api_key(session, token)
    if found is None:
        raise refused_key(token)
    program, api_key = found
    count_api_request(request, api_key.id)
    return ApiContext(
        session=session,
        program=program,
        settings=request.app.state.settings,
        api_key_id=api_key.id,
        api_key_name=api_key.name,
    )


Api = Annotated[ApiContext, Depends(api_context)]


def ban_settlement() -> SettleCommissions:
    """How a ban settles the partner's commissions: wired here, as partner may not import commission."""
    return commission_service.settle_for_ban


BanSettlement = Annotated[SettleCommissions, Depends(ban_settlement)]


def partner_perks() -> PerksOf:
    """The perks of a partner's tier: wired here, as partner may not import engagement."""
    return engagement_tiers.perks_of


PartnerPerks = Annotated[PerksOf, Depends(partner_perks)]


def sale_shares() -> SaleShares:
    """How the plan simulator splits a past sale by the program's multi-touch model, as a live sale is:
    wired here, as plan may not import conversion."""
    return replay.sale_shares


SaleSplit = Annotated[SaleShares, Depends(sale_shares)]
