from django.core.management.base import BaseCommand, CommandError

from commerce_hq.distribution.models import Job, JobRun
from commerce_hq.distribution.services import UnknownJob, job_check, job_run

WAIT_SECONDS = 60
BAR_WIDTH = 30


class Command(BaseCommand):
    help = "Run a distribution job now (1110, P-0001, or 9999 = 1110 then P-0001); exits non-zero if it fails."

    def add_arguments(self, parser):
        parser.add_argument("job", help="1110 | P-0001 | 9999")

    def handle(self, *args, job, **options):
        try:
            job_check(job)
        except UnknownJob as exc:
            raise CommandError(exc.detail) from None
        self._shown = -1
        try:
            run = job_run(job=job, trigger=JobRun.Trigger.CLI, wait_seconds=WAIT_SECONDS, progress=self._progress)
        except Exception as exc:
            raise CommandError(f"{job} failed: {type(exc).__name__}: {exc}") from exc
        if run is None:
            raise CommandError(f"Another {Job.UPLOAD_TRANSACTIONS} run kept its lock for {WAIT_SECONDS} s; try again.")
        self._summary(run)
        if run.status != JobRun.Status.SUCCEEDED:
            raise CommandError(f"{job} failed: {run.error}")

    def _progress(self, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if percent // 10 == self._shown and done < total:
            return
        self._shown = percent // 10
        filled = BAR_WIDTH * percent // 100
        self.stdout.write(f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} transactions ({percent}%)")

    def _summary(self, run: JobRun) -> None:
        self.stdout.write(
            f"{run.get_job_display()}: run {run.pk} {run.status} in {run.seconds:.2f} s — "
            f"{run.channels_updated} channel(s) updated, {run.transactions_applied} transaction(s) applied, "
            f"{run.exceptions_raised} sync exception(s) raised."
        )
        if run.note:
            self.stdout.write(run.note)
