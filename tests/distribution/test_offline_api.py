"""POST offline-transactions and GET offline-transactions/{id}, as API.md states them."""

from unittest import mock

import pytest

from commerce_hq.distribution.models import JobRun
from commerce_hq.distribution.services import offline_transactions_apply
from commerce_hq.distribution.tasks import run_job
from commerce_hq.stored_value import services
from pos_api.channel_db.models import OfflineTransaction
from tests.distribution.helpers import BASE, allow_offline, api_client, offline_tx, redeem, unlock, upload
from tests.factories import issue_card

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(register):
    return api_client(register)


@pytest.fixture
def card(register):
    allow_offline(register)
    card = issue_card(register, "100.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    return card


def problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code and body["status"] == status
    return body


def test_upload_is_stored_and_answered_202(api, card, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        response = upload(
            api,
            [
                offline_tx("T1", [redeem(card.number, "12.5"), unlock(card.number)]),
                offline_tx("T2", [unlock(card.number)]),
            ],
        )

    assert response.status_code == 202
    assert response.json() == {"accepted": ["T1", "T2"], "duplicates": [], "conflicts": []}
    row = OfflineTransaction.objects.get(transaction_id="T1")
    assert row.status == "pending" and row.staff_id == "042"
    assert row.operations[0] == {
        "type": "gift_card.redeem",
        "number": card.number,
        "amount": "12.50",
        "currency": "USD",
    }


def test_p0001_is_queued_only_after_commit(api, card, django_capture_on_commit_callbacks):
    with mock.patch.object(run_job, "apply_async") as send:
        with django_capture_on_commit_callbacks() as callbacks:
            upload(api, [offline_tx("T1", [redeem(card.number, "5.00")])])
            assert not send.called
        assert len(callbacks) == 1 and not send.called
        callbacks[0]()
    send.assert_called_once()
    assert send.call_args.args[0] == ("P-0001", "upload")


def test_nothing_new_queues_nothing(api, card, django_capture_on_commit_callbacks):
    body = [offline_tx("T1", [redeem(card.number, "5.00")], concluded_at="2026-11-23T10:05:00Z")]
    upload(api, body)
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(api, body)
    assert response.json()["duplicates"] == ["T1"] and callbacks == []


def test_replayed_three_times_changes_nothing(api, card):
    body = [offline_tx("T1", [redeem(card.number, "5.00")], concluded_at="2026-11-23T10:05:00Z")]
    answers = [upload(api, body).json() for _ in range(4)]
    assert answers[0]["accepted"] == ["T1"]
    assert all(answer == {"accepted": [], "duplicates": ["T1"], "conflicts": []} for answer in answers[1:])
    assert OfflineTransaction.objects.count() == 1


def test_same_id_other_content_is_kept_and_flagged_never_overwritten(api, card):
    first = offline_tx("T1", [redeem(card.number, "5.00")], concluded_at="2026-11-23T10:05:00Z")
    other = offline_tx("T1", [redeem(card.number, "50.00")], concluded_at="2026-11-23T10:05:00Z")
    upload(api, [first])

    answers = [upload(api, [other]).json() for _ in range(2)]

    assert answers == [{"accepted": [], "duplicates": [], "conflicts": ["T1"]}] * 2
    original = OfflineTransaction.objects.get(conflict_of__isnull=True)
    assert original.operations[0]["amount"] == "5.00"
    assert [row.operations[0]["amount"] for row in original.conflicts.all()] == ["50.00"]


def test_amounts_written_differently_are_the_same_content(api, card):
    upload(api, [offline_tx("T1", [redeem(card.number, "5.5")], concluded_at="2026-11-23T10:05:00Z")])
    again = offline_tx("T1", [redeem(card.number.lower(), "5.50")], concluded_at="2026-11-23T11:05:00+01:00")
    assert upload(api, [again]).json()["duplicates"] == ["T1"]


BAD_TRANSACTIONS = [
    ({"transaction_id": 123}, "transaction_id"),
    ({"transaction_id": "x" * 65}, "transaction_id"),
    ({"concluded_at": "2026-11-23 10:05:00"}, "concluded_at"),
    ({"concluded_at": "2026-11-23T10:05:00"}, "concluded_at"),
    ({"concluded_at": "2026-13-23T10:05:00Z"}, "concluded_at"),
    ({"operations": []}, "operations"),
    ({"operations": [{"type": "gift_card.refund", "number": "6012000000000001"}]}, "operations.0.type"),
    ({"operations": [{"type": "gift_card.unlock", "number": "12"}]}, "operations.0.number"),
    (
        {"operations": [{"type": "gift_card.redeem", "number": "6012000000000001", "currency": "USD"}]},
        "operations.0.amount",
    ),
    ({"operations": [redeem("6012000000000001", "1.00") | {"amount": 1}]}, "operations.0.amount"),
    ({"operations": [redeem("6012000000000001", "1.001")]}, "operations.0.amount"),
    ({"operations": [redeem("6012000000000001", "-1")]}, "operations.0.amount"),
    ({"operations": [redeem("6012000000000001", "1.00") | {"currency": "XXY"}]}, "operations.0.currency"),
    (
        {"operations": [redeem("6012000000000001", "1.00") | {"remainder_number": "CM-1234567890"}]},
        "operations.0.remainder_number",
    ),
    ({"operations": [redeem("6012000000000001", "1.00"), redeem("6012000000000001", "2.00")]}, "operations"),
]


@pytest.mark.parametrize(("change", "field"), BAD_TRANSACTIONS)
def test_a_malformed_transaction_refuses_the_whole_batch(api, card, change, field):
    good = offline_tx("GOOD", [redeem(card.number, "1.00")])
    bad = offline_tx("BAD", [redeem(card.number, "1.00")]) | change

    body = problem(upload(api, [good, bad]), 400, "invalid_upload")

    assert {(error["index"], error["field"]) for error in body["errors"]} == {(1, f"transactions.1.{field}")}
    assert not OfflineTransaction.objects.exists()


def test_every_bad_index_is_reported(api, card):
    batch = [
        offline_tx("A", [redeem(card.number, "1.00")]),
        offline_tx("B", [redeem(card.number, "1.0001")]),
        offline_tx("C", [unlock(card.number)]) | {"concluded_at": "yesterday"},
        offline_tx("A", [unlock(card.number)]),
    ]
    body = problem(upload(api, batch), 400, "invalid_upload")
    assert sorted(error["index"] for error in body["errors"]) == [1, 2, 3]
    assert not OfflineTransaction.objects.exists()


@pytest.mark.parametrize("transactions", [[], "T1", None])
def test_batch_shape_is_checked(api, transactions):
    problem(
        api.post(BASE + "offline-transactions", {"transactions": transactions}, format="json"), 400, "invalid_upload"
    )


def test_more_than_1000_is_refused(api, card):
    batch = [offline_tx(f"T{n}", [unlock(card.number)]) for n in range(1001)]
    problem(upload(api, batch), 400, "invalid_upload")
    assert not OfflineTransaction.objects.exists()


def test_a_batch_of_1000_is_accepted(api, card):
    batch = [offline_tx(f"T{n}", [unlock(card.number)]) for n in range(1000)]
    assert len(upload(api, batch).json()["accepted"]) == 1000


def test_no_token_no_upload(card):
    from rest_framework.test import APIClient

    problem(upload(APIClient(), [offline_tx("T1", [unlock(card.number)])]), 401, "not_authenticated")


def test_idempotency_key_replays_the_first_answer(api, card):
    body = [offline_tx("T1", [redeem(card.number, "5.00")])]
    first = upload(api, body, **{"Idempotency-Key": "k-1"})
    again = upload(api, body, **{"Idempotency-Key": "k-1"})
    assert again.status_code == 202 and again.json() == first.json() == {
        "accepted": ["T1"],
        "duplicates": [],
        "conflicts": [],
    }
    assert again["Idempotent-Replayed"] == "true"


def test_status_goes_from_pending_to_applied_with_exceptions(api, register, card):
    other = issue_card(register, "3.00")
    services.gift_card_lock(number=other.number, register=register, transaction_id="T2")
    upload(api, [offline_tx("T1", [redeem(card.number, "5.00")]), offline_tx("T2", [redeem(other.number, "4.00")])])
    pending = api.get(BASE + "offline-transactions/T1").json()
    assert pending["status"] == "pending" and pending["applied_at"] is None and pending["exceptions"] == []

    offline_transactions_apply()

    applied = api.get(BASE + "offline-transactions/T1").json()
    excepted = api.get(BASE + "offline-transactions/T2").json()
    assert applied["status"] == "applied" and applied["applied_at"].endswith("Z") and applied["received_at"]
    assert excepted["status"] == "exception"
    assert [e["code"] for e in excepted["exceptions"]] == ["offline_overspend"]
    assert all(e["detail"] for e in excepted["exceptions"])


def test_status_of_another_registers_or_unknown_id_is_not_found(api, other_register, card):
    upload(api, [offline_tx("T1", [unlock(card.number)])])
    other = api_client(other_register)
    problem(other.get(BASE + "offline-transactions/T1"), 404, "not_found")
    problem(api.get(BASE + "offline-transactions/NOPE"), 404, "not_found")
    assert api.get(BASE + "offline-transactions/T1").status_code == 200


def test_upload_applies_through_the_queued_job_and_unlocks(api, card, django_capture_on_commit_callbacks, eager_celery):
    # eager Celery (no REDIS_URL) runs the queued task when the callbacks run
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, [offline_tx("T1", [redeem(card.number, "5.00"), unlock(card.number)])])

    card.refresh_from_db()
    assert response.status_code == 202 and not card.is_locked and str(card.balance) == "95.000000"
    assert api.get(BASE + "offline-transactions/T1").json()["status"] == "applied"
    run = JobRun.objects.get()
    assert (run.job, run.trigger, run.status, run.transactions_applied) == ("P-0001", "upload", "succeeded", 1)
