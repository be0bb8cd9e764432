"""Every ORM table, re-exported."""

from partnerloop.models.account import AccountToken, Invitation, PartnerNote, UserSession
from partnerloop.models.base import Base
from partnerloop.models.conversion import Commission, Customer, Event
from partnerloop.models.coupon import Coupon
from partnerloop.models.engagement import (
    Announcement,
    AnnouncementDelivery,
    Award,
    Campaign,
    CampaignBonusAward,
    EngagementSettings,
    GroupTier,
    PartnerEngagement,
    PerformanceReview,
    TierMove,
)
from partnerloop.models.fx import FxRate
from partnerloop.models.group import Group
from partnerloop.models.integrations import HubSpotConnection, SlackConnection
from partnerloop.models.jobs import IdempotencyKey, Job, Schedule
from partnerloop.models.ledger import LedgerEntry
from partnerloop.models.link import Click, ClickRollup, Link
from partnerloop.models.monitoring import (
    Alert,
    AlertSettings,
    ClickDayRollup,
    ClickDimensionRollup,
    ConversionRollup,
    Goal,
    RollupState,
)
from partnerloop.models.notify import DevEmail, NotificationPreference
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
    StripeCardSeen,
    StripeCustomerLink,
    StripeDispute,
    StripeEvent,
    StripePaymentLink,
    StripeSubscription,
)
from partnerloop.models.webhook import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from partnerloop.models.workspace import Member, User, Workspace

__all__ = [
    "AccountToken",
    "Advocate",
    "Alert",
    "AlertSettings",
    "Announcement",
    "AnnouncementDelivery",
    "ApiKey",
    "ApplicationAnswer",
    "ApplicationForm",
    "ApplicationQuestion",
    "Award",
    "Base",
    "Campaign",
    "CampaignBonusAward",
    "Click",
    "ClickDayRollup",
    "ClickDimensionRollup",
    "ClickRollup",
    "Commission",
    "ConversionRollup",
    "Coupon",
    "Customer",
    "DevEmail",
    "EngagementSettings",
    "Enrollment",
    "Event",
    "FxRate",
    "Goal",
    "Group",
    "GroupTier",
    "HubSpotConnection",
    "IdempotencyKey",
    "Invitation",
    "Job",
    "LedgerEntry",
    "Link",
    "Member",
    "NotificationPreference",
    "Partner",
    "PartnerApplication",
    "PartnerEngagement",
    "PartnerNote",
    "Payout",
    "PayoutItem",
    "PayoutMethod",
    "PayoutRun",
    "PayoutSettings",
    "PerformanceReview",
    "Plan",
    "Program",
    "ProviderBatch",
    "Referral",
    "Resource",
    "Reward",
    "RollupState",
    "Schedule",
    "SlackConnection",
    "StripeCardSeen",
    "StripeCustomerLink",
    "StripeDispute",
    "StripeEvent",
    "StripePaymentLink",
    "StripeSubscription",
    "TierMove",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WelcomeKit",
    "Workspace",
]
