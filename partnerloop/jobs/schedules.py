"""Periodic jobs: any worker may enqueue a due one; compare-and-set on next_run_at makes it happen once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from partnerloop.db import insert_ignore, transaction
from partnerloop.jobs import queue
from partnerloop.jobs.rules import next_schedule_run
from partnerloop.models import Schedule


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    kind: str
    interval: timedelta
    payload: dict[str, Any] = field(default_factory=dict)


def tick(session: Session, now: datetime, schedules: Sequence[PeriodicJob]) -> list[str]:
    """Enqueue every schedule due at `now` in the caller's transaction; return the names enqueued.

    A new schedule is due at once. Advancing next_run_at only WHERE it still holds the value we read
    means that of several workers ticking together exactly one wins and enqueues.
    """
    stored = dict(session.execute(select(Schedule.name, Schedule.next_run_at)).all())
    enqueued = []
    for schedule in schedules:
        previous = stored.get(schedule.name)
        if previous is None:
            if not insert_ignore(session, Schedule, {"name": schedule.name, "next_run_at": now}, ["name"]):
                continue  # another worker created it just now and will enqueue it
            previous = now
        if previous > now:
            continue
        advanced = session.execute(
            update(Schedule)
            .where(Schedule.name == schedule.name, Schedule.next_run_at == previous)
            .values(next_run_at=next_schedule_run(previous, schedule.interval, now))
        )
        if advanced.rowcount == 1:  # type: ignore[attr-defined]
            queue.enqueue(session, schedule.kind, dict(schedule.payload), run_at=now)
            enqueued.append(schedule.name)
    return enqueued


def any_due(engine: Engine, now: datetime, schedules: Sequence[PeriodicJob]) -> bool:
    """A read-only check, so an idle poll does not take SQLite's write lock."""
    with transaction(engine, writes=False) as session:
        stored = dict(session.execute(select(Schedule.name, Schedule.next_run_at)).all())
    return any(stored.get(schedule.name) is None or stored[schedule.name] <= now for schedule in schedules)


def tick_if_due(engine: Engine, now: datetime, schedules: Sequence[PeriodicJob]) -> list[str]:
    """Enqueue the due schedules in their own transaction; return the names enqueued."""
    if not any_due(engine, now, schedules):
        return []
    with transaction(engine) as session:
        return tick(session, now, schedules)
