"""Enrollment statuses and the transitions between them (pure)."""

from __future__ import annotations

from enum import StrEnum


class EnrollmentStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    INVITED = "invited"
    BANNED = "banned"
    DEACTIVATED = "deactivated"

    @property
    def can_earn(self) -> bool:
        """Only approved partners get links and commissions."""
        return self is EnrollmentStatus.APPROVED


class BanCommissions(StrEnum):
    """What a ban does to the partner's commissions that are not approved yet (the manager's choice)."""

    REJECT = "reject"  # the default: a banned partner earns nothing that was still pending
    HOLD = "hold"  # kept on hold for the manager to decide one by one (or after an unban)


# action -> statuses it may start from
TRANSITIONS: dict[str, tuple[EnrollmentStatus, frozenset[EnrollmentStatus]]] = {
    "approve": (
        EnrollmentStatus.APPROVED,
        frozenset(
            {
                EnrollmentStatus.PENDING,
                EnrollmentStatus.INVITED,
                EnrollmentStatus.REJECTED,
                EnrollmentStatus.DEACTIVATED,
            }
        ),
    ),
    "reject": (EnrollmentStatus.REJECTED, frozenset({EnrollmentStatus.PENDING, EnrollmentStatus.INVITED})),
    "ban": (
        EnrollmentStatus.BANNED,
        frozenset(
            {
                EnrollmentStatus.PENDING,
                EnrollmentStatus.APPROVED,
                EnrollmentStatus.INVITED,
                EnrollmentStatus.REJECTED,
                EnrollmentStatus.DEACTIVATED,
            }
        ),
    ),
    "deactivate": (EnrollmentStatus.DEACTIVATED, frozenset({EnrollmentStatus.APPROVED})),
    # back to approved; what the ban did to commissions stands (held stay held, rejected stay rejected)
    "unban": (EnrollmentStatus.APPROVED, frozenset({EnrollmentStatus.BANNED})),
}


def next_status(current: EnrollmentStatus, action: str) -> EnrollmentStatus | None:
    """The status after `action`, or None when the action does not apply from `current`."""
    target, sources = TRANSITIONS[action]
    return target if current in sources else None
