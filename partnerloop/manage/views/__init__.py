"""The manager dashboard's pages, one module per section."""

from __future__ import annotations

from fastapi import APIRouter

from partnerloop.portal.views.commissions import router as commissions_router
from partnerloop.portal.views.overview import router as overview_router
from partnerloop.portal.views.partners import router as partners_router
from partnerloop.portal.views.plans import router as plans_router
from partnerloop.portal.views.settings import router as settings_router

router = APIRouter(include_in_schema=False)
for section in (overview_router, partners_router, commissions_router, plans_router, settings_router):
    router.include_router(section)
