from django.core.management.base import BaseCommand, CommandError

from commerce_hq.reconcile import run_reconcile


class Command(BaseCommand):
    help = (
        "Check every balance against its ledger, every lock against its owner and every staged upload "
        "applied or excepted; exits non-zero on any mismatch."
    )

    def handle(self, *args, **options):
        report = run_reconcile()
        for what, count in report.checked.items():
            self.stdout.write(f"checked {count:>8} {what}")
        for problem in report.problems:
            self.stdout.write(f"MISMATCH {problem}")
        if not report.ok:
            raise CommandError(f"{len(report.problems)} mismatch(es).")
        self.stdout.write("reconcile: OK, no mismatches.")
