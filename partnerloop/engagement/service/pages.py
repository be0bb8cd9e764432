"""What the dashboard's and the partner portal's engagement pages read and record, offered by the
engagement domain (the pages do not reach into its repository)."""

from __future__ import annotations

from partnerloop.engagement.repository import (
    groups,
    mark_read,
    members,
    partner_announcements,
    partner_choices,
    partner_choices_or_default,
    partner_names,
    recent_moves,
    reviews_of,
    save_settings,
    settings_of,
    unread_count,
)

__all__ = [
    "groups",
    "mark_read",
    "members",
    "partner_announcements",
    "partner_choices",
    "partner_choices_or_default",
    "partner_names",
    "recent_moves",
    "reviews_of",
    "save_settings",
    "settings_of",
    "unread_count",
]
