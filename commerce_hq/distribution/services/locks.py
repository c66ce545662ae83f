"""Only one run of a job at a time: a PostgreSQL advisory lock held by the run's database
session (the server drops it when a killed worker's connection goes), or on SQLite a job
row taken by a conditional UPDATE (taken over once it is older than ``SQLITE_STALE``)."""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from django.db import DatabaseError, connection
from django.db.models import Q
from django.utils import timezone

from ..models import JobLock

SQLITE_STALE = timedelta(minutes=30)
POLL_SECONDS = 0.2


def lock_key(job: str) -> int:
    return zlib.crc32(f"commerce-hq distribution job {job}".encode())


@contextmanager
def job_lock(job: str, *, wait_seconds: float = 0) -> Iterator[bool]:
    """Yield True while this process holds ``job``'s lock, False if another run kept it for
    ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    held = _acquire(job)
    while not held and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        held = _acquire(job)
    try:
        yield held
    finally:
        if held:
            _release(job)


def _acquire(job: str) -> bool:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_key(job)])
            return bool(cursor.fetchone()[0])
    JobLock.objects.get_or_create(job=job)
    now = timezone.now()
    free = Q(held_since__isnull=True) | Q(held_since__lt=now - SQLITE_STALE)
    return JobLock.objects.filter(free, job=job).update(held_since=now) == 1


def _release(job: str) -> None:
    try:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_key(job)])
        else:
            JobLock.objects.filter(job=job).update(held_since=None)
    except DatabaseError:
        # The connection is gone, and with it the session's advisory lock.
        connection.close()
