"""The manager dashboard's pages, one module per section."""

from __future__ import annotations

from fastapi import APIRouter

from partnerloop.manage.views.alerts import router as alerts_router
from partnerloop.manage.views.commissions import router as commissions_router
from partnerloop.manage.views.coupons import router as coupons_router
from partnerloop.manage.views.emails import router as emails_router
from partnerloop.manage.views.engagement import router as engagement_router
from partnerloop.manage.views.goals import router as goals_router
from partnerloop.manage.views.links import router as links_router
from partnerloop.manage.views.overview import router as overview_router
from partnerloop.manage.views.partners import router as partners_router
from partnerloop.manage.views.payouts import router as payouts_router
from partnerloop.manage.views.plans import router as plans_router
from partnerloop.manage.views.portal_setup import router as portal_setup_router
from partnerloop.manage.views.programs import router as programs_router
from partnerloop.manage.views.referrals import router as referrals_router
from partnerloop.manage.views.reports import router as reports_router
from partnerloop.manage.views.settings import router as settings_router
from partnerloop.manage.views.stripe import router as stripe_router

router = APIRouter(include_in_schema=False)
for section in (
    portal_setup_router,  # the application form, onboarding kit and resources
    overview_router,
    partners_router,
    commissions_router,
    payouts_router,
    links_router,
    coupons_router,
    reports_router,
    goals_router,
    alerts_router,
    plans_router,
    engagement_router,  # announcements, leaderboard, tiers, awards, reviews
    referrals_router,
    programs_router,  # the "New program" form
    settings_router,
    stripe_router,  # the Stripe connection (under Integrations)
    emails_router,  # the Sent emails page (development, without SMTP_URL)
):
    router.include_router(section)
