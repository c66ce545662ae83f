"""Running distribution jobs (1110, P-0001, 9999) and recording each run."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import DatabaseError
from django.utils import timezone

from commerce_hq.errors import DomainError
from pos_api.channel_db.selectors import offline_transactions_pending

from ..models import Job, JobRun
from .locks import job_lock
from .publish import parameters_distribute
from .uploads import Progress, offline_transactions_apply

logger = logging.getLogger(__name__)

UPLOAD_LOCK = Job.UPLOAD_TRANSACTIONS
HANDOFFS = 3
LOST_1110_AFTER = timedelta(minutes=10)


class UnknownJob(DomainError):
    code, status, title = "unknown_job", 400, "Unknown distribution job"


def job_check(job: str) -> str:
    if job not in Job.values:
        raise UnknownJob(f"Unknown job {job!r}; known jobs: {', '.join(Job.values)}.")
    return job


def job_queue(*, job: str, trigger: str) -> None:
    """Queue a run on the workers once the current transaction commits."""
    from ..tasks import run_job

    run_job.delay_on_commit(job_check(job), trigger)


def job_run(*, job: str, trigger: str, wait_seconds: float = 0, progress: Progress | None = None) -> JobRun | None:
    """Run ``job`` now and return its recorded run. P-0001 runs one at a time: when another
    holds the lock for longer than ``wait_seconds`` this returns None (that run applies the
    uploads; 9999 then still runs its 1110 part). Uploads staged while a run was ending are
    taken by a follow-up run, so none waits for the schedule."""
    job_check(job)
    _mark_lost_1110()
    if job == Job.GLOBAL_CONFIGURATION:
        return _execute(job, trigger, distribute=True, upload=False)
    with job_lock(UPLOAD_LOCK, wait_seconds=wait_seconds) as held:
        if held:
            _mark_lost_uploads()
            run = _execute(job, trigger, distribute=job == Job.ALL_JOBS, upload=True, progress=progress)
        elif job == Job.ALL_JOBS:
            note = "The P-0001 part was left to the upload run in progress."
            return _execute(job, trigger, distribute=True, upload=False, note=note)
        else:
            return None
    _handoff(trigger)
    return run


def _handoff(trigger: str) -> None:
    for _ in range(HANDOFFS):
        if not offline_transactions_pending().exists():
            return
        with job_lock(UPLOAD_LOCK) as held:
            if not held:
                return
            _execute(Job.UPLOAD_TRANSACTIONS, trigger, distribute=False, upload=True)


def _execute(
    job: str, trigger: str, *, distribute: bool, upload: bool, note: str = "", progress: Progress | None = None
) -> JobRun:
    run = JobRun.objects.create(job=job, trigger=trigger, note=note)
    try:
        if distribute:
            run.channels_updated = parameters_distribute()
            JobRun.objects.filter(pk=run.pk).update(channels_updated=run.channels_updated)
        if upload:
            result = offline_transactions_apply(progress=_reporter(run, progress))
            run.transactions_applied, run.exceptions_raised = result.applied, result.exceptions
            run.progress_done = run.progress_total = result.applied
        run.status = JobRun.Status.SUCCEEDED
    except Exception as exc:
        logger.exception("Distribution job %s failed", job)
        run.status, run.error = JobRun.Status.FAILED, f"{type(exc).__name__}: {exc}"[:4000]
        if isinstance(exc, DatabaseError):
            _finish(run)
            raise
    _finish(run)
    return run


def _finish(run: JobRun) -> None:
    run.finished_at = timezone.now()
    run.save()


def _reporter(run: JobRun, progress: Progress | None) -> Progress:
    def report(done: int, total: int) -> None:
        JobRun.objects.filter(pk=run.pk).update(progress_done=done, progress_total=total, transactions_applied=done)
        if progress is not None:
            progress(done, total)

    return report


def _mark_lost_uploads() -> None:
    """With the upload lock held, any other run still marked running lost its worker."""
    JobRun.objects.filter(status=JobRun.Status.RUNNING, job__in=[Job.UPLOAD_TRANSACTIONS, Job.ALL_JOBS]).update(
        status=JobRun.Status.FAILED, finished_at=timezone.now(), error="The worker was lost during the run."
    )


def _mark_lost_1110() -> None:
    JobRun.objects.filter(
        status=JobRun.Status.RUNNING,
        job=Job.GLOBAL_CONFIGURATION,
        started_at__lt=timezone.now() - LOST_1110_AFTER,
    ).update(status=JobRun.Status.FAILED, finished_at=timezone.now(), error="The worker was lost during the run.")
