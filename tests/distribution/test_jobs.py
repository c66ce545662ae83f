"""Jobs 1110 / P-0001 / 9999: runs, the one-at-a-time lock, the CLI, schedules, tasks, reconcile."""

import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from commerce_hq.distribution import tasks
from commerce_hq.distribution.models import JobRun
from commerce_hq.distribution.services import SCHEDULES, job_run, offline_transactions_apply, schedules_ensure
from commerce_hq.distribution.services.locks import job_lock
from commerce_hq.parameters.services import parameters_update
from commerce_hq.reconcile import run_reconcile
from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import GiftCard
from pos_api.channel_db.models import DistributedParameters, OfflineTransaction
from tests.distribution.helpers import BASE, allow_offline, api_client, redeem, stage, staged
from tests.factories import ChannelFactory, issue_card

pytestmark = pytest.mark.django_db


def test_1110_publishes_the_current_version_to_every_channel_once(channel):
    second = ChannelFactory(legal_entity=channel.legal_entity, code="STORE2")
    parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.allow_offline_conclusion": True})

    first = job_run(job="1110", trigger="cli")
    again = job_run(job="1110", trigger="cli")

    assert (first.status, first.channels_updated, again.channels_updated) == ("succeeded", 2, 0)
    rows = DistributedParameters.objects.filter(channel__in=[channel, second])
    assert sorted(rows.values_list("version", flat=True)) == [2, 2]
    assert rows.first().payload["gift_card"]["allow_offline_conclusion"] is True


def test_register_sees_a_new_version_as_soon_as_1110_finishes(register, capsys):
    # given: the register has fetched version 1
    api = api_client(register)
    job_run(job="1110", trigger="cli")
    before = api.get(BASE + "parameters")
    assert before.json()["version"] == 1 and before.json()["gift_card"]["allow_offline_conclusion"] is False
    # when: an admin switches offline conclusion on
    parameters_update(legal_entity=register.channel.legal_entity, changes={"gift_card.allow_offline_conclusion": True})
    # then: until 1110 runs, the register still gets version 1 (also for If-None-Match)
    assert api.get(BASE + "parameters").json()["version"] == 1
    assert api.get(BASE + "parameters", headers={"If-None-Match": before["ETag"]}).status_code == 304
    job_run(job="1110", trigger="cli")
    finished = time.perf_counter()
    after = api.get(BASE + "parameters", headers={"If-None-Match": before["ETag"]})
    seconds = time.perf_counter() - finished
    assert after.status_code == 200 and after.json()["version"] == 2
    assert after.json()["gift_card"]["allow_offline_conclusion"] is True and after["ETag"] != before["ETag"]
    with capsys.disabled():
        print(f"\n[propagation] 1110 finished → register saw version 2 after {seconds * 1000:.1f} ms")
    assert seconds < 1


def test_9999_runs_1110_then_p0001(register):
    parameters_update(
        legal_entity=register.channel.legal_entity,
        changes={"gift_card.allow_offline_conclusion": True},
    )
    card = issue_card(register, "20.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    stage(register, "T1", [redeem(card.number, "5.00")], concluded_at=timezone.now() + timedelta(seconds=1))

    run = job_run(job="9999", trigger="cli")

    assert (run.job, run.status, run.channels_updated, run.transactions_applied) == ("9999", "succeeded", 1, 1)
    assert staged(register, "T1").status == "applied"


@contextmanager
def p0001_held_elsewhere():
    """Hold the P-0001 lock as another worker would: on PostgreSQL from another database
    session (a thread with its own connection); on SQLite through the job lock row."""
    if connection.vendor != "postgresql":
        with job_lock("P-0001") as held:
            yield held
        return
    taken, release, results = threading.Event(), threading.Event(), []

    def other_worker():
        with job_lock("P-0001") as held:
            results.append(held)
            taken.set()
            release.wait(10)
        connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    taken.wait(10)
    try:
        yield results == [True]
    finally:
        release.set()
        thread.join()


def test_only_one_p0001_at_a_time(register):
    allow_offline(register)
    stage(register, "T1", [redeem("6012000000000001", "1.00")])
    with p0001_held_elsewhere() as held:
        assert held
        assert job_run(job="P-0001", trigger="upload") is None
        both = job_run(job="9999", trigger="admin")
    assert staged(register, "T1").status == "pending"
    assert both.transactions_applied == 0 and "left to the upload run" in both.note
    assert not JobRun.objects.filter(job="P-0001").exists()
    assert job_run(job="P-0001", trigger="cli").transactions_applied == 1


def test_run_left_running_by_a_lost_worker_is_marked_failed(register):
    lost = JobRun.objects.create(job="P-0001", trigger="schedule")
    run = job_run(job="P-0001", trigger="cli")
    lost.refresh_from_db()
    assert run.status == "succeeded" and lost.status == "failed" and "lost" in lost.error


def test_a_failing_job_is_recorded_and_the_cli_exits_non_zero(register, monkeypatch):
    from commerce_hq.distribution.services import runs

    def broken():
        raise RuntimeError("channel database unreachable")

    monkeypatch.setattr(runs, "parameters_distribute", broken)
    with pytest.raises(CommandError, match="unreachable"):
        call_command("run_job", "1110")
    run = JobRun.objects.get()
    assert run.status == "failed" and "unreachable" in run.error and run.finished_at is not None


def test_cli_prints_progress_and_a_summary(register, capsys):
    allow_offline(register)
    for n in range(7):
        stage(register, f"T{n}", [redeem("6012000000000001", "1.00")])
    call_command("run_job", "P-0001")
    out = capsys.readouterr().out
    assert "7/7 transactions (100%)" in out and "[" in out
    assert "7 transaction(s) applied, 7 sync exception(s) raised" in out
    assert JobRun.objects.get().trigger == "cli"


def test_cli_refuses_an_unknown_job(db):
    with pytest.raises(CommandError, match="Unknown job 'P-0002'"):
        call_command("run_job", "P-0002")
    assert not JobRun.objects.exists()


def test_schedules_are_created_once_and_admin_edits_survive(db):
    assert schedules_ensure() == [schedule.name for schedule in SCHEDULES]
    upload = PeriodicTask.objects.get(name="P-0001 Upload channel transactions")
    assert upload.interval.every == 2 and upload.args == '["P-0001", "schedule"]'
    # an admin slows the upload job down and switches the sweep off
    upload.interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    upload.save()
    PeriodicTask.objects.filter(name="Lock expiry sweep").update(enabled=False)
    PeriodicTask.objects.filter(name="9999 All jobs").delete()

    assert schedules_ensure() == ["9999 All jobs"]

    assert PeriodicTask.objects.get(name="P-0001 Upload channel transactions").interval.every == 10
    assert PeriodicTask.objects.get(name="Lock expiry sweep").enabled is False
    assert PeriodicTask.objects.count() == len(SCHEDULES)


def test_tasks_call_their_services(register, eager_celery):
    allow_offline(register, **{"gift_card.lock_timeout_minutes": 1})
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    GiftCard.objects.filter(pk=card.pk).update(lock_expires_at=timezone.now() - timedelta(seconds=1))

    assert tasks.expire_locks.delay().get() == 1
    run_id = tasks.run_job.delay("1110", "schedule").get()

    card.refresh_from_db()
    assert not card.is_locked
    assert JobRun.objects.get(pk=run_id).trigger == "schedule"


def test_reconcile_flags_uploads_left_pending_or_excepted_without_reason(register):
    allow_offline(register)
    stage(register, "OLD", [redeem("6012000000000001", "1.00")])
    stage(register, "NEW", [redeem("6012000000000002", "1.00")])
    OfflineTransaction.objects.filter(transaction_id="OLD").update(received_at=timezone.now() - timedelta(hours=1))
    stage(register, "BAD", [redeem("6012000000000003", "1.00")])
    OfflineTransaction.objects.filter(transaction_id="BAD").update(status="exception", applied_at=timezone.now())

    report = run_reconcile()

    assert not report.ok and report.checked["uploads pending (within grace)"] == 1
    assert any("OLD: still pending" in p for p in report.problems)
    assert any("BAD: excepted without a sync exception" in p for p in report.problems)
    assert not any("NEW" in p for p in report.problems)
    OfflineTransaction.objects.filter(transaction_id="BAD").update(status="pending", applied_at=None)
    offline_transactions_apply()
    assert run_reconcile().ok


def test_applying_a_chunk_costs_the_same_queries_for_5_or_50(register):
    from django.test.utils import CaptureQueriesContext

    allow_offline(register)
    counts = []
    for size in (5, 50):
        cards = [issue_card(register, "10.00") for _ in range(size)]
        for n, card in enumerate(cards):
            services.gift_card_lock(number=card.number, register=register, transaction_id=f"S{size}-{n}")
            stage(register, f"S{size}-{n}", [redeem(card.number, "1.00")])
        with CaptureQueriesContext(connection) as queries:
            assert offline_transactions_apply().applied == size
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert GiftCard.objects.filter(balance=Decimal("9.00")).count() == 55


def test_timeline_answers_like_channel_parameters(channel):
    from pos_api.channel_db.selectors import channel_parameters, parameters_timeline

    moments = [timezone.now() - timedelta(days=1)]
    for switch in (True, False, True):
        parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.allow_offline_conclusion": switch})
        job_run(job="1110", trigger="cli")
        moments.append(timezone.now())
    timeline = parameters_timeline(channel_ids=[channel.pk])

    answers = [timeline.at(channel_id=channel.pk, when=moment) for moment in moments]

    assert answers == [channel_parameters(channel=channel, at=moment) for moment in moments]
    assert [answer.version for answer in answers] == [0, 2, 3, 4]


def test_uploads_staged_as_a_run_ends_get_a_follow_up_run(register, monkeypatch):
    from commerce_hq.distribution.services import runs

    allow_offline(register)
    real = runs.offline_transactions_apply

    def apply_then_late_upload(**kwargs):
        result = real(**kwargs)
        if not staged_ids():
            stage(register, "LATE", [redeem("6012000000000001", "1.00")])
        return result

    def staged_ids():
        return list(OfflineTransaction.objects.values_list("transaction_id", flat=True))

    monkeypatch.setattr(runs, "offline_transactions_apply", apply_then_late_upload)
    job_run(job="P-0001", trigger="upload")

    assert staged(register, "LATE").status == "exception"
    assert list(JobRun.objects.order_by("id").values_list("transactions_applied", flat=True)) == [0, 1]
