"""Idempotency-Key: replay, reuse with another body, errors not stored, concurrent twins."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from commerce_hq.stored_value.models import GiftCard, LedgerEntry
from pos_api.models import IdempotencyKey
from tests.api.conftest import activate, client_for, post, problem
from tests.factories import issue_card

KEY = {"Idempotency-Key": "4f1c2a9e-key"}


def redeem(amount: str, tid: str = "T1") -> dict:
    return {"transaction_id": tid, "amount": amount, "currency": "USD"}


@pytest.mark.django_db
def test_replay_returns_the_first_response_and_changes_nothing(api):
    first = post(api, "gift-cards", {"transaction_id": "T1", "amount": "10", "currency": "USD"}, **KEY)
    again = post(api, "gift-cards", {"currency": "USD", "amount": "10", "transaction_id": "T1"}, **KEY)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert GiftCard.objects.count() == 1 and LedgerEntry.objects.count() == 1


@pytest.mark.django_db
def test_the_same_key_with_another_body_or_path_is_refused(api, register):
    card = issue_card(register, "50.00")
    assert post(api, f"gift-cards/{card.number}/redeem", redeem("5"), **KEY).status_code == 200
    problem(post(api, f"gift-cards/{card.number}/redeem", redeem("6"), **KEY), 422, "idempotency_key_reused")
    problem(post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"}, **KEY), 422, "idempotency_key_reused")
    card.refresh_from_db()
    assert str(card.balance) == "45.000000"


@pytest.mark.django_db
def test_an_error_is_not_stored_and_the_key_runs_afresh(api, register):
    # given a card that cannot cover the amount yet
    card = issue_card(register, "5.00")
    problem(post(api, f"gift-cards/{card.number}/redeem", redeem("8"), **KEY), 422, "insufficient_balance")
    assert not IdempotencyKey.objects.exists()
    # when it is topped up and the same request is sent again with the same key
    post(api, f"gift-cards/{card.number}/add-value", redeem("5", "T0"))
    response = post(api, f"gift-cards/{card.number}/redeem", redeem("8"), **KEY)
    # then it runs and is stored
    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert response.json()["card"]["balance"] == "2.00"
    assert IdempotencyKey.objects.get().status_code == 200


@pytest.mark.django_db
def test_keys_belong_to_one_device(api, other_api):
    first = post(api, "credit-memos", redeem("10"), **KEY)
    second = post(other_api, "credit-memos", redeem("10"), **KEY)
    assert first.status_code == second.status_code == 201
    assert first.json()["number"] != second.json()["number"] and "Idempotent-Replayed" not in second


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 129, "tab\there"])
def test_a_key_outside_1_to_128_printable_characters_is_invalid_request(api, key):
    body = problem(post(api, "credit-memos", redeem("10"), **{"Idempotency-Key": key}), 400, "invalid_request")
    assert body["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.django_db
def test_a_128_character_key_is_accepted(api):
    assert post(api, "credit-memos", redeem("10"), **{"Idempotency-Key": "k" * 128}).status_code == 201


TWINS = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_twins_with_one_key_execute_once(register):
    # given one device sending the same issue request from eight threads at once
    token = activate(register)[1]
    barrier = threading.Barrier(TWINS)

    def send(_):
        try:
            client = client_for(token)
            barrier.wait()
            return post(client, "gift-cards", {"transaction_id": "T1", "amount": "10", "currency": "USD"}, **KEY)
        finally:
            connections.close_all()

    # when
    with ThreadPoolExecutor(max_workers=TWINS) as pool:
        responses = list(pool.map(send, range(TWINS)))
    # then exactly one ran; the others replayed its response
    assert [r.status_code for r in responses] == [201] * TWINS
    assert len({r.json()["number"] for r in responses}) == 1
    assert sum(r.get("Idempotent-Replayed") == "true" for r in responses) == TWINS - 1
    assert GiftCard.objects.count() == 1 and LedgerEntry.objects.count() == 1


def test_old_idempotency_keys_are_purged_by_the_scheduled_task(db):
    from datetime import timedelta

    from django.utils import timezone

    from commerce_hq.channels.models import Device
    from commerce_hq.distribution.tasks import purge_idempotency_keys
    from pos_api.models import IdempotencyKey
    from tests.factories import RegisterFactory

    device = Device.objects.create(register=RegisterFactory(), token_hash="h" * 64, token_prefix="h")
    old = IdempotencyKey.objects.create(device=device, key="old", fingerprint="f")
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    IdempotencyKey.objects.create(device=device, key="new", fingerprint="f")
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
