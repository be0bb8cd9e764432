"""The manager dashboard's pages, one module per section."""

from __future__ import annotations

from fastapi import APIRouter

from partnerloop.manage.views.commissions import router as commissions_router
from partnerloop.manage.views.overview import router as overview_router
from partnerloop.manage.views.partners import router as partners_router
from partnerloop.manage.views.plans import router as plans_router
from partnerloop.manage.views.portal_setup import router as portal_setup_router
from partnerloop.manage.views.referrals import router as referrals_router
from partnerloop.manage.views.settings import router as settings_router

router = APIRouter(include_in_schema=False)
for section in (
    portal_setup_router,  # the application form, onboarding kit and resources
    overview_router,
    partners_router,
    commissions_router,
    plans_router,
    referrals_router,
    settings_router,
):
    router.include_router(section)
