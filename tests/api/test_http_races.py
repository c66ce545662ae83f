"""Real HTTP against a live server on PostgreSQL: registers racing for one card."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from commerce_hq.stored_value.models import GiftCard, LedgerEntry
from tests.api.conftest import activate
from tests.factories import RegisterFactory, issue_card

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CLIENTS = 16


def race(urls_and_bodies: list[tuple[str, str, dict]]) -> list[requests.Response]:
    """POST each (url, token, body) from its own thread, all released together."""
    barrier = threading.Barrier(len(urls_and_bodies))

    def send(item):
        url, token, body = item
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {token}"
            barrier.wait()
            return session.post(url, json=body, timeout=30)

    with ThreadPoolExecutor(max_workers=len(urls_and_bodies)) as pool:
        return list(pool.map(send, urls_and_bodies))


@pytest.fixture
def tokens(channel):
    return [activate(RegisterFactory(channel=channel, code=f"R{i:02}"))[1] for i in range(CLIENTS)]


def test_sixteen_registers_lock_one_card_exactly_one_wins(live_server, tokens):
    # given
    card = issue_card(RegisterFactory(code="ISSUER"))
    url = f"{live_server.url}/api/pos/v1/gift-cards/{card.number}/lock"
    # when
    responses = race([(url, token, {"transaction_id": f"T{i}"}) for i, token in enumerate(tokens)])
    # then
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (CLIENTS - 1)
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert {r["code"] for r in refusals} == {"card_locked"}
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert all(r["lock"]["register"] == winner["lock"]["register"] for r in refusals)
    assert GiftCard.objects.get(pk=card.pk).lock_register.code == winner["lock"]["register"]


def test_sixteen_registers_redeem_one_card_never_overdraw(live_server, tokens):
    # given a card that covers five of sixteen redemptions
    card = issue_card(RegisterFactory(code="ISSUER"), "50.00")
    url = f"{live_server.url}/api/pos/v1/gift-cards/{card.number}/redeem"
    body = {"amount": "10", "currency": "USD"}
    # when
    responses = race([(url, token, {**body, "transaction_id": f"T{i}"}) for i, token in enumerate(tokens)])
    # then
    codes = [r.status_code if r.status_code == 200 else r.json()["code"] for r in responses]
    assert codes.count(200) == 5 and codes.count("insufficient_balance") == CLIENTS - 5
    assert GiftCard.objects.get(pk=card.pk).balance == 0
    assert LedgerEntry.objects.filter(gift_card=card, operation="redeem").count() == 5


def test_sixteen_registers_issue_one_scanned_number_exactly_one_wins(live_server, tokens):
    url = f"{live_server.url}/api/pos/v1/gift-cards"
    body = {"amount": "10", "currency": "USD", "number": "SCAN-0001"}
    responses = race([(url, token, {**body, "transaction_id": f"T{i}"}) for i, token in enumerate(tokens)])
    codes = [r.status_code if r.status_code == 201 else r.json()["code"] for r in responses]
    assert codes.count(201) == 1 and codes.count("card_exists") == CLIENTS - 1
    assert GiftCard.objects.filter(number="SCAN-0001").count() == 1
