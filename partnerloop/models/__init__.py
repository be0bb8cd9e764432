"""Every ORM table, re-exported."""

from partnerloop.models.account import AccountToken, Invitation, PartnerNote, UserSession
from partnerloop.models.base import Base
from partnerloop.models.conversion import Commission, Customer, Event
from partnerloop.models.coupon import Coupon
from partnerloop.models.fx import FxRate
from partnerloop.models.group import Group
from partnerloop.models.jobs import IdempotencyKey, Job, Schedule
from partnerloop.models.ledger import LedgerEntry
from partnerloop.models.link import Click, ClickRollup, Link
from partnerloop.models.partner import Enrollment, Partner
from partnerloop.models.partner_portal import (
    ApplicationAnswer,
    ApplicationForm,
    ApplicationQuestion,
    PartnerApplication,
    Resource,
    WelcomeKit,
)
from partnerloop.models.payout import Payout, PayoutItem, PayoutMethod, PayoutRun, PayoutSettings, ProviderBatch
from partnerloop.models.plan import Plan
from partnerloop.models.program import ApiKey, Program
from partnerloop.models.referral import Advocate, Referral, Reward
from partnerloop.models.stripe import (
    StripeCustomerLink,
    StripeDispute,
    StripeEvent,
    StripePaymentLink,
    StripeSubscription,
)
from partnerloop.models.workspace import Member, User, Workspace

__all__ = [
    "AccountToken",
    "Advocate",
    "ApiKey",
    "ApplicationAnswer",
    "ApplicationForm",
    "ApplicationQuestion",
    "Base",
    "Click",
    "ClickRollup",
    "Commission",
    "Coupon",
    "Customer",
    "Enrollment",
    "Event",
    "FxRate",
    "Group",
    "IdempotencyKey",
    "Invitation",
    "Job",
    "LedgerEntry",
    "Link",
    "Member",
    "Partner",
    "PartnerApplication",
    "PartnerNote",
    "Payout",
    "PayoutItem",
    "PayoutMethod",
    "PayoutRun",
    "PayoutSettings",
    "Plan",
    "Program",
    "ProviderBatch",
    "Referral",
    "Resource",
    "Reward",
    "Schedule",
    "StripeCustomerLink",
    "StripeDispute",
    "StripeEvent",
    "StripePaymentLink",
    "StripeSubscription",
    "User",
    "UserSession",
    "WelcomeKit",
    "Workspace",
]
