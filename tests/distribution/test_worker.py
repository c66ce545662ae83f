"""Exactly once with a real Celery worker process (PostgreSQL + Redis): an upload applied by
the worker, and a worker SIGKILLed in the middle of a batch, restarted, every upload applied once.

Run with a Redis database of your own (e.g. REDIS_URL=redis://127.0.0.1:6379/11): the worker
consumes the default queue."""

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from commerce_hq.celery import app as celery_app
from commerce_hq.distribution.models import JobRun, SyncException
from commerce_hq.distribution.tasks import run_job
from commerce_hq.reconcile import run_reconcile
from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import GiftCard, LedgerEntry
from pos_api.channel_db.models import OfflineTransaction
from pos_api.channel_db.services import offline_transactions_stage
from tests.distribution.helpers import allow_offline, api_client, device_for, offline_tx, redeem, unlock, upload
from tests.factories import issue_card

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
CARDS = 300
TIMEOUT = 90


def worker_database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def celery_worker(name: str, *, slow: bool = False):
    """A real worker process on the test database; killed (if still alive) on exit."""
    env = {**os.environ, "DATABASE_URL": worker_database_url(), "REDIS_URL": settings.REDIS_URL}
    module = ["-m", "tests.distribution.slow_worker"] if slow else ["-m", "celery"]
    args = ["-A", "commerce_hq", "worker", "--pool=solo", "-n", f"{name}-{os.getpid()}@%h", "-l", "info"]
    args += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    process = subprocess.Popen([sys.executable, *module, *args], cwd=ROOT, env=env)
    try:
        wait_until(lambda: _answers_ping(name, process), f"worker {name} to start")
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers_ping(name: str, process: subprocess.Popen) -> bool:
    """True once this worker answers and no other worker of this test session does."""
    assert process.poll() is None, f"worker {name} exited with {process.returncode}"
    nodes = [node for reply in celery_app.control.ping(timeout=0.5) or [] for node in reply]
    mine = [node for node in nodes if f"-{os.getpid()}@" in node]
    return mine != [] and all(node.startswith(f"{name}-") for node in mine)


def wait_until(condition, what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            runs = list(JobRun.objects.values_list("id", "job", "trigger", "status", "transactions_applied", "error"))
            pytest.fail(f"timed out waiting for {what}; {pending()} pending; runs {runs}")
        time.sleep(0.05)


def pending() -> int:
    return OfflineTransaction.objects.filter(status="pending").count()


def test_upload_is_applied_by_the_worker_and_the_card_unlocked(register):
    # given
    allow_offline(register)
    card = issue_card(register, "50.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T-E2E")
    api = api_client(register)
    with celery_worker("e2e"):
        # when: the register uploads; the view queues P-0001 after commit
        response = upload(api, [offline_tx("T-E2E", [redeem(card.number, "20.00"), unlock(card.number)])])
        assert response.status_code == 202
        wait_until(lambda: pending() == 0, "the worker to apply the upload")
    # then
    card.refresh_from_db()
    assert card.balance == Decimal("30.00") and not card.is_locked
    assert api.get("/api/pos/v1/offline-transactions/T-E2E").json()["status"] == "applied"
    assert JobRun.objects.filter(trigger="upload", status="succeeded", transactions_applied=1).exists()
    assert run_reconcile().ok


def stage_batch(register) -> list[dict]:
    """CARDS cards each locked by its first transaction; a second transaction per card held a
    lock an admin released (lock_lost), so order and exceptions matter too."""
    cards = [issue_card(register, "10.00") for _ in range(CARDS)]
    batch = []
    for n, card in enumerate(cards):
        services.gift_card_lock(number=card.number, register=register, transaction_id=f"B{n}")
        services.gift_card_release_lock(number=card.number, user=None, reason="register replaced")
        services.gift_card_lock(number=card.number, register=register, transaction_id=f"A{n}")
        batch.append(offline_tx(f"A{n}", [redeem(card.number, "4.00")]))
        batch.append(offline_tx(f"B{n}", [redeem(card.number, "4.00")]))
    return batch


def staged_form(batch: list[dict]) -> list[dict]:
    from pos_api.channel_db.serializers import UploadSerializer

    serializer = UploadSerializer(data={"transactions": batch})
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data["transactions"]


def test_worker_killed_mid_batch_then_restarted_applies_everything_once(register):
    # given: 2 × CARDS staged uploads
    allow_offline(register)
    device = device_for(register)
    batch = staged_form(stage_batch(register))
    for start in range(0, len(batch), 1000):
        offline_transactions_stage(device=device, transactions=batch[start : start + 1000])
    total = len(batch)
    # when: a slowed worker starts the batch and is SIGKILLed part-way through
    with celery_worker("doomed", slow=True) as doomed:
        run_job.delay("P-0001", "schedule")
        wait_until(lambda: pending() <= total * 3 // 4, "the worker to get a quarter through")
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
    left = pending()
    assert 0 < left < total, "the kill should land mid-batch"
    # then: each upload is either fully applied or untouched
    applied_ids = set(OfflineTransaction.objects.exclude(status="pending").values_list("transaction_id", flat=True))
    booked_ids = set(LedgerEntry.objects.filter(origin="offline").values_list("transaction_id", flat=True))
    assert applied_ids == booked_ids
    assert JobRun.objects.get().status == "running"
    # the register uploads the same batch 3 more times while the worker is down: nothing new
    for _ in range(3):
        replay = offline_transactions_stage(device=device, transactions=batch[:1000])
        assert replay.duplicates and not replay.accepted and not replay.conflicts
    # when: a worker comes back; the schedule sends P-0001 again (twice)
    with celery_worker("phoenix"):
        run_job.delay("P-0001", "schedule")
        wait_until(lambda: pending() == 0, "the restarted worker to finish")
        run_job.delay("P-0001", "schedule")
        wait_until(
            lambda: JobRun.objects.filter(status="running").count() == 0 and JobRun.objects.count() >= 3,
            "the second run",
        )
    # then: every upload applied exactly once, the books reconcile
    assert OfflineTransaction.objects.count() == total
    entries = LedgerEntry.objects.filter(origin="offline", operation="redeem")
    per_tx = entries.values("transaction_id").annotate(n=Count("id"))
    assert entries.count() == total and {row["n"] for row in per_tx} == {1}
    assert not GiftCard.objects.exclude(balance=Decimal("2.00")).filter(entries__origin="offline").exists()
    lost = SyncException.objects.filter(code="lock_lost")
    assert lost.count() == CARDS and set(lost.values_list("offline_transaction__transaction_id", flat=True)) == {
        f"B{n}" for n in range(CARDS)
    }
    assert not GiftCard.objects.filter(lock_register__isnull=False).exists()
    statuses = dict(JobRun.objects.values_list("status").annotate(n=Count("id")))
    assert statuses.get("failed") == 1 and statuses.get("succeeded", 0) >= 2
    assert "lost" in JobRun.objects.get(status="failed").error
    report = run_reconcile()
    assert report.ok, report.problems
