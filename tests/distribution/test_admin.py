"""Admin: job runs with Run now and progress, the sync exception queue, uploads, channel versions."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client
from django.urls import reverse

from commerce_hq.distribution.models import JobRun, SyncException
from commerce_hq.distribution.services import job_run, offline_transactions_apply
from pos_api.channel_db.models import OfflineTransaction
from tests.distribution.helpers import allow_offline, api_client, redeem, stage

pytestmark = pytest.mark.django_db

RUNS = reverse("admin:distribution_jobrun_changelist")
QUEUE = reverse("admin:distribution_syncexception_changelist")


def ops_client(username: str = "ops", groups: tuple[str, ...] = ("Ops",)) -> tuple[Client, User]:
    user = User.objects.create_user(username=username, password="pw", is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def exceptions(register):
    allow_offline(register)
    stage(register, "T1", [redeem("6012000000000001", "1.00")])
    stage(register, "T2", [redeem("6012000000000002", "1.00")])
    offline_transactions_apply()
    return list(SyncException.objects.order_by("id"))


def test_ops_sees_runs_with_progress_and_run_now_buttons(register):
    client, _ = ops_client()
    JobRun.objects.create(job="P-0001", trigger="schedule", progress_done=250, progress_total=1000)

    page = client.get(RUNS).content.decode()

    assert 'id="run-now-1110"' in page and 'id="run-now-P-0001"' in page and 'id="run-now-9999"' in page
    assert "250/1000 (25%)" in page and 'http-equiv="refresh"' in page


def test_run_now_queues_after_commit_and_records_admin(register, django_capture_on_commit_callbacks, eager_celery):
    client, _ = ops_client()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("admin:distribution_jobrun_run", args=["1110"]))
    assert response.status_code == 302 and len(callbacks) == 1
    run = JobRun.objects.get()
    assert (run.job, run.trigger, run.status, run.channels_updated) == ("1110", "admin", "succeeded", 1)


def test_run_now_needs_the_permission_and_a_post(register):
    client, _ = ops_client("viewer", groups=())
    assert client.post(reverse("admin:distribution_jobrun_run", args=["1110"])).status_code == 403
    ops, _ = ops_client()
    assert ops.get(reverse("admin:distribution_jobrun_run", args=["1110"])).status_code == 405
    ops.post(reverse("admin:distribution_jobrun_run", args=["P-0002"]))
    assert not JobRun.objects.exists()


def test_run_detail_shows_counts(register):
    client, _ = ops_client()
    run = job_run(job="9999", trigger="cli")
    page = client.get(reverse("admin:distribution_jobrun_change", args=[run.pk])).content.decode()
    assert "Succeeded" in page and "Command line" in page


def test_queue_filters_by_code_and_resolution(exceptions):
    client, _ = ops_client()
    page = client.get(QUEUE + "?code=unknown_card&resolved=no").content.decode()
    assert page.count("unknown_card") >= 2 and "T1" in page and "T2" in page


def test_resolve_with_note_asks_for_the_note_first(exceptions):
    client, user = ops_client()
    data = {"action": "resolve_with_note", "index": 0, "_selected_action": [exceptions[0].pk]}

    form = client.post(QUEUE, data)
    empty = client.post(QUEUE, {**data, "confirm": "yes", "note": "  "})

    assert form.status_code == 200 and 'id="resolve-form"' in form.content.decode()
    assert empty.status_code == 200 and "This field is required" in empty.content.decode()
    assert not SyncException.objects.filter(resolved_at__isnull=False).exists()

    done = client.post(QUEUE, {**data, "confirm": "yes", "note": "Card was fake; reported to security."})

    assert done.status_code == 302
    resolved = SyncException.objects.get(pk=exceptions[0].pk)
    assert resolved.resolved_by == user and resolved.note.startswith("Card was fake")
    assert SyncException.objects.get(pk=exceptions[1].pk).resolved_at is None


def test_resolving_needs_the_permission(exceptions):
    client, looker = ops_client("looker", groups=())
    looker.user_permissions.add(Permission.objects.get(codename="view_syncexception"))
    data = {"action": "resolve_with_note", "index": 0, "_selected_action": [exceptions[0].pk], "confirm": "yes"}
    client.post(QUEUE, {**data, "note": "ok"})
    assert not SyncException.objects.filter(resolved_at__isnull=False).exists()


def test_upload_page_shows_operations_and_exceptions(exceptions):
    client, _ = ops_client()
    row = OfflineTransaction.objects.get(transaction_id="T1")
    page = client.get(reverse("admin:channel_db_offlinetransaction_change", args=[row.pk])).content.decode()
    assert "gift_card.redeem" in page and "6012000000000001" in page and "unknown_card" in page


def test_channel_and_register_versions_are_shown(register):
    allow_offline(register)
    api_client(register).get("/api/pos/v1/parameters")
    client, _ = ops_client()
    page = client.get(reverse("admin:channel_db_distributedparameters_changelist")).content.decode()
    assert 'id="channel-versions"' in page and "STORE1/REG1" in page
    assert "<td>2</td>" in page
