"""Distribution schedules: django-celery-beat rows that admins may edit. Seeding creates the
missing ones and never touches an existing row (an admin's interval or switch stays)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from ..models import Job, JobRun

RUN_JOB_TASK = "commerce_hq.distribution.tasks.run_job"
EXPIRE_LOCKS_TASK = "commerce_hq.distribution.tasks.expire_locks"
PURGE_KEYS_TASK = "commerce_hq.distribution.tasks.purge_idempotency_keys"


@dataclass(frozen=True)
class Schedule:
    name: str
    task: str
    every_minutes: int
    args: tuple[str, ...] = ()


SCHEDULES = [
    Schedule(Job.GLOBAL_CONFIGURATION.label, RUN_JOB_TASK, 5, (Job.GLOBAL_CONFIGURATION, JobRun.Trigger.SCHEDULE)),
    Schedule(Job.UPLOAD_TRANSACTIONS.label, RUN_JOB_TASK, 2, (Job.UPLOAD_TRANSACTIONS, JobRun.Trigger.SCHEDULE)),
    Schedule(Job.ALL_JOBS.label, RUN_JOB_TASK, 60, (Job.ALL_JOBS, JobRun.Trigger.SCHEDULE)),
    Schedule("Lock expiry sweep", EXPIRE_LOCKS_TASK, 1),
    Schedule("Idempotency key purge", PURGE_KEYS_TASK, 24 * 60),
]


@transaction.atomic
def schedules_ensure() -> list[str]:
    """Create each missing distribution schedule; returns the names created."""
    created = []
    for schedule in SCHEDULES:
        if PeriodicTask.objects.filter(name=schedule.name).exists():
            continue
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule.every_minutes, period=IntervalSchedule.MINUTES
        )
        PeriodicTask.objects.get_or_create(
            name=schedule.name,
            defaults={"task": schedule.task, "interval": interval, "args": json.dumps(list(schedule.args))},
        )
        created.append(schedule.name)
    return created
