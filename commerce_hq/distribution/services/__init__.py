"""Distribution services: the only writers of job runs, sync exceptions and schedules."""

from .exceptions import sync_exceptions_resolve
from .publish import parameters_distribute
from .runs import UnknownJob, job_check, job_queue, job_run
from .schedules import SCHEDULES, schedules_ensure
from .uploads import ApplyResult, offline_transactions_apply

__all__ = [
    "SCHEDULES",
    "ApplyResult",
    "UnknownJob",
    "job_check",
    "job_queue",
    "job_run",
    "offline_transactions_apply",
    "parameters_distribute",
    "schedules_ensure",
    "sync_exceptions_resolve",
]
