"""Every job kind and periodic schedule of the product: the one list that knows every domain (wiring,
like app.py). Importing it registers each domain's job handlers (their @job_handler decorators)."""

from __future__ import annotations

from datetime import timedelta

import partnerloop.alert.tasks
import partnerloop.commission.tasks
import partnerloop.conversion.tasks
import partnerloop.engagement.tasks
import partnerloop.fx.tasks
import partnerloop.goal.tasks
import partnerloop.integrations.hubspot.tasks
import partnerloop.integrations.slack.tasks
import partnerloop.integrations.stripe.tasks
import partnerloop.jobs.tasks
import partnerloop.notify.digest
import partnerloop.notify.events
import partnerloop.notify.tasks
import partnerloop.payout.tasks
import partnerloop.referral.tasks
import partnerloop.report.tasks
import partnerloop.webhook.tasks  # noqa: F401
from partnerloop.integrations.hubspot.service import subscriber as hubspot_subscriber
from partnerloop.integrations.slack.service import subscriber as slack_subscriber
from partnerloop.jobs.schedules import PeriodicJob
from partnerloop.notify.events import subscriber as notification_subscriber
from partnerloop.webhook.outbox import subscribe

# The integrations and the email notifications hear the outbox's events on the fan-out worker: they are
# wired here, not called by the domains (and notify and webhook, which queues its emails through notify,
# do not import each other).
subscribe(slack_subscriber)
subscribe(hubspot_subscriber)
subscribe(notification_subscriber)

SCHEDULES: tuple[PeriodicJob, ...] = (
    PeriodicJob("approve_due_commissions", "approve_due_commissions", timedelta(seconds=60)),
    PeriodicJob("sweep_idempotency_keys", "sweep_idempotency_keys", timedelta(hours=1)),
    PeriodicJob("sweep_finished_jobs", "sweep_finished_jobs", timedelta(hours=6)),
    PeriodicJob("payout_schedule_tick", "payout_schedule_tick", timedelta(hours=1)),
    PeriodicJob("stripe_retry_click_waits", "stripe.retry_click_waits", timedelta(seconds=30)),
    PeriodicJob("engagement.send_due_announcements", "engagement.send_due_announcements", timedelta(seconds=60)),
    PeriodicJob("engagement.daily_tiers", "engagement.daily_tiers", timedelta(days=1)),
    # Hourly, but each partner's review of a month is made once: in effect on the first day of the month.
    PeriodicJob("engagement.monthly_reviews", "engagement.monthly_reviews", timedelta(hours=1)),
    PeriodicJob("goals_check", "goals.check", timedelta(seconds=60)),
    PeriodicJob("reports_refresh_rollups", "reports.refresh_rollups", timedelta(seconds=60)),
    PeriodicJob("alerts_scan_clicks", "alerts.scan_clicks", timedelta(seconds=60)),
    PeriodicJob("alerts_scan_performance", "alerts.scan_performance", timedelta(hours=1)),
    PeriodicJob("webhook_sweep", "webhook.sweep", timedelta(days=1)),
    PeriodicJob("referral_issue_due_rewards", "referral.issue_due_rewards", timedelta(minutes=5)),
    PeriodicJob("notify_weekly_digest", "notify.weekly_digest", timedelta(days=7)),
    # The ECB publishes once a working day (about 16:00 CET); asking every 6 hours records each day within
    # hours of it, whenever the installation started (a day recorded already is not recorded again).
    PeriodicJob("fx.fetch_ecb", "fx.fetch_ecb", timedelta(hours=6)),
)
