"""Celery tasks: take ids, are idempotent, call one service. Sent with ``delay_on_commit``."""

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError

from commerce_hq.stored_value.services import locks_expire
from pos_api.idempotency import idempotency_keys_purge

from .services import job_run

RETRY = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
    "acks_late": True,
}


@shared_task(**RETRY)
def run_job(job: str, trigger: str) -> int | None:
    """Run distribution job ``job`` (1110, P-0001, 9999); returns the run's id (None: a P-0001
    run was already in progress and applies the uploads)."""
    run = job_run(job=job, trigger=trigger)
    return run.pk if run is not None else None


@shared_task(**RETRY)
def expire_locks() -> int:
    return locks_expire()


@shared_task(**RETRY)
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge(older_than_days=settings.IDEMPOTENCY_KEY_DAYS)
