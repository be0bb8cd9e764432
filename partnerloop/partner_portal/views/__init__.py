"""The partner's pages, and the public application page."""

from __future__ import annotations

from fastapi import APIRouter

from partnerloop.partner_portal.views.apply import router as apply_router
from partnerloop.partner_portal.views.engagement import router as engagement_router
from partnerloop.partner_portal.views.portal import router as portal_router

router = APIRouter(include_in_schema=False)
for _router in (apply_router, portal_router, engagement_router):
    router.include_router(_router)
