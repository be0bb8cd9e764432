"""Every ORM table, re-exported."""

from partnerloop.models.base import Base
from partnerloop.models.conversion import Commission, Customer, Event
from partnerloop.models.jobs import IdempotencyKey, Job, Schedule
from partnerloop.models.link import Click, ClickRollup, Link
from partnerloop.models.partner import Enrollment, Partner
from partnerloop.models.plan import Plan
from partnerloop.models.program import ApiKey, Program
from partnerloop.models.workspace import Member, User, Workspace

__all__ = [
    "ApiKey",
    "Base",
    "Click",
    "ClickRollup",
    "Commission",
    "Customer",
    "Enrollment",
    "Event",
    "IdempotencyKey",
    "Job",
    "Link",
    "Member",
    "Partner",
    "Plan",
    "Program",
    "Schedule",
    "User",
    "Workspace",
]
