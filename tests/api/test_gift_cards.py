"""Gift card endpoints: every success shape and error code of the contract."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce_hq.parameters.services import parameters_update
from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import GiftCard, LedgerEntry
from commerce_hq.stored_value.services.common import luhn_check_digit
from tests.api.conftest import get, post, problem
from tests.factories import issue_card

pytestmark = pytest.mark.django_db

CARD_KEYS = {"number", "currency", "balance", "status", "expires_at", "lock"}


def money(amount: str, tid: str = "T1", **extra) -> dict:
    return {"transaction_id": tid, "amount": amount, "currency": "USD", **extra}


def test_issue_generates_a_luhn_number(api):
    response = post(api, "gift-cards", money("25", "SALE-1"))
    assert response.status_code == 201
    card = response.json()
    assert set(card) == CARD_KEYS and card["balance"] == "25.00" and card["status"] == "active"
    assert re.fullmatch(r"\d{16}", card["number"])
    assert luhn_check_digit(card["number"][:-1]) == card["number"][-1]


def test_issue_takes_a_scanned_number_case_insensitively(api):
    card = post(api, "gift-cards", money("10.5", number="abc-12345")).json()
    assert card["number"] == "ABC-12345" and card["balance"] == "10.50"
    problem(post(api, "gift-cards", money("1", number="ABC-12345")), 409, "card_exists")


@pytest.mark.parametrize("number", ["short", "x" * 33, "ABC_12345", 12345678, ""])
def test_issue_refuses_a_malformed_number(api, number):
    body = problem(post(api, "gift-cards", money("1", number=number)), 400, "invalid_request")
    assert body["errors"] == [{"field": "number", "detail": body["errors"][0]["detail"]}]


@pytest.mark.parametrize(
    "amount",
    [12.5, 12, "12.505", "0", "0.00", "-5", "1e3", "12,50", " 12", "", None, "NaN", "Infinity", True, ["1"], "١٢"],
)
def test_issue_refuses_bad_amounts_with_invalid_amount(api, amount):
    body = problem(post(api, "gift-cards", money(amount)), 400, "invalid_amount")
    assert body["errors"][0]["field"] == "amount"
    assert not GiftCard.objects.exists()


def test_a_missing_amount_is_invalid_amount_and_other_missing_fields_invalid_request(api):
    problem(post(api, "gift-cards", {"transaction_id": "T", "currency": "USD"}), 400, "invalid_amount")
    body = problem(post(api, "gift-cards", {"amount": "5", "currency": "USD"}), 400, "invalid_request")
    assert body["errors"] == [{"field": "transaction_id", "detail": "This field is required."}]


def test_amount_decimals_follow_the_currency(channel, api):
    problem(post(api, "gift-cards", {"transaction_id": "T", "amount": "5.5", "currency": "JPY"}), 400, "invalid_amount")
    response = post(api, "gift-cards", {"transaction_id": "T", "amount": "5", "currency": "JPY"})
    problem(response, 422, "currency_mismatch")


@pytest.mark.parametrize("tid", ["", "x" * 65, 17, None, "nul\x00"])
def test_transaction_id_must_be_a_1_to_64_character_string(api, tid):
    body = problem(post(api, "gift-cards", money("5", tid)), 400, "invalid_request")
    assert body["errors"][0]["field"] == "transaction_id"


def test_a_lone_surrogate_is_refused_not_stored(api):
    raw = b'{"transaction_id": "T\\ud800", "amount": "5", "currency": "USD"}'
    response = api.generic("POST", "/api/pos/v1/gift-cards", raw, content_type="application/json")
    assert problem(response, 400, "invalid_request")["errors"][0]["field"] == "transaction_id"


def test_issue_over_the_maximum_balance_is_refused(api, channel):
    parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.max_balance": "100"})
    problem(post(api, "gift-cards", money("100.01")), 422, "balance_limit_exceeded")


def test_balance_lookup_is_case_insensitive_and_shows_the_lock(api, other_api, register):
    card = issue_card(register, "40.00", number="GC-ABCDEFGH")
    post(other_api, "gift-cards/GC-ABCDEFGH/lock", {"transaction_id": "THEIRS"})
    body = get(api, "gift-cards/gc-abcdefgh").json()
    assert body["number"] == card.number and body["balance"] == "40.00"
    assert body["lock"]["channel"] == "STORE1" and body["lock"]["register"] == "REG2"
    assert body["lock"]["transaction_id"] == "THEIRS" and body["lock"]["locked_at"].endswith("Z")


@pytest.mark.parametrize("number", ["00000000", "short", "bad%20number", "a" * 40, "%00%00%00%00%00%00%00%00"])
def test_unknown_or_malformed_numbers_in_the_path_are_card_not_found(api, number):
    problem(get(api, f"gift-cards/{number}"), 404, "card_not_found")
    problem(post(api, f"gift-cards/{number}/lock", {"transaction_id": "T"}), 404, "card_not_found")


def test_lock_is_idempotent_for_its_owner_and_refused_to_others(api, other_api, register):
    card = issue_card(register)
    first = post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    assert first.status_code == 200
    lock = first.json()["lock"]
    assert lock["register"] == "REG1" and lock["transaction_id"] == "T1" and lock["expires_at"] is None
    again = post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    assert again.status_code == 200 and again.json()["lock"] == lock
    refused = problem(post(other_api, f"gift-cards/{card.number}/lock", {"transaction_id": "T9"}), 409, "card_locked")
    assert refused["lock"] == {"channel": "STORE1", "register": "REG1", "locked_at": lock["locked_at"]}
    problem(post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T2"}), 409, "card_locked")


def test_lock_with_a_timeout_shows_when_it_expires(api, channel, register):
    parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.lock_timeout_minutes": 30})
    card = issue_card(register)
    lock = post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"}).json()["lock"]
    assert lock["expires_at"] is not None and lock["expires_at"] > lock["locked_at"]


@pytest.mark.parametrize("state", ["blocked", "expired", "closed"])
def test_an_inactive_card_cannot_be_locked_or_redeemed(api, register, state):
    card = issue_card(register)
    if state == "blocked":
        services.gift_card_set_blocked(number=card.number, blocked=True)
    if state == "expired":
        GiftCard.objects.filter(pk=card.pk).update(expires_at=timezone.now() - timedelta(days=1))
    if state == "closed":
        GiftCard.objects.filter(pk=card.pk).update(status=GiftCard.Status.CLOSED)
    problem(post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"}), 422, "card_inactive")
    problem(post(api, f"gift-cards/{card.number}/redeem", money("1")), 422, "card_inactive")


def test_unlock_by_the_owner_and_when_not_locked(api, other_api, register):
    card = issue_card(register)
    assert post(api, f"gift-cards/{card.number}/unlock", {"transaction_id": "T1"}).json()["lock"] is None
    post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    problem(post(other_api, f"gift-cards/{card.number}/unlock", {"transaction_id": "T1"}), 409, "lock_not_held")
    problem(post(api, f"gift-cards/{card.number}/unlock", {"transaction_id": "T2"}), 409, "lock_not_held")
    response = post(api, f"gift-cards/{card.number}/unlock", {"transaction_id": "T1"})
    assert response.status_code == 200 and response.json()["lock"] is None


def test_redeem_debits_unlocks_and_records_the_staff(api, register):
    card = issue_card(register, "50.00")
    post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    response = post(api, f"gift-cards/{card.number}/redeem", money("12.5", staff_id="042"))
    assert response.status_code == 200
    body = response.json()
    assert body["amount"] == "12.50" and body["card"]["balance"] == "37.50" and body["card"]["lock"] is None
    entry = LedgerEntry.objects.get(pk=body["entry_id"])
    assert (entry.amount, entry.staff_id, entry.register, entry.transaction_id) == (
        Decimal("-12.5"),
        "042",
        register,
        "T1",
    )


def test_redeem_on_an_unlocked_card_locks_debits_and_unlocks_in_one_step(api, register):
    card = issue_card(register, "50.00")
    body = post(api, f"gift-cards/{card.number}/redeem", money("50")).json()
    assert body["card"]["balance"] == "0.00" and body["card"]["lock"] is None


def test_redeem_refusals(api, other_api, register):
    card = issue_card(register, "20.00")
    short = problem(post(api, f"gift-cards/{card.number}/redeem", money("20.01")), 422, "insufficient_balance")
    assert short["balance"] == "20.00"
    problem(post(api, f"gift-cards/{card.number}/redeem", money("5", currency="EUR")), 422, "currency_mismatch")
    post(other_api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    refused = problem(post(api, f"gift-cards/{card.number}/redeem", money("5")), 409, "card_locked")
    assert refused["lock"]["register"] == "REG2"
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("20.00")


def test_a_replayed_redeem_returns_the_first_entry_and_another_amount_is_refused(api, register):
    card = issue_card(register, "20.00")
    first = post(api, f"gift-cards/{card.number}/redeem", money("5")).json()
    again = post(api, f"gift-cards/{card.number}/redeem", money("5")).json()
    assert again["entry_id"] == first["entry_id"] and again["card"]["balance"] == "15.00"
    problem(post(api, f"gift-cards/{card.number}/redeem", money("6")), 409, "already_redeemed")


def test_add_value_tops_up_within_the_maximum_balance(api, channel, register):
    parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.max_balance": "120"})
    card = issue_card(register, "100.00")
    body = post(api, f"gift-cards/{card.number}/add-value", money("20")).json()
    assert body["amount"] == "20.00" and body["card"]["balance"] == "120.00"
    problem(post(api, f"gift-cards/{card.number}/add-value", money("0.01", "T2")), 422, "balance_limit_exceeded")


def test_add_value_beyond_what_a_balance_can_hold_is_refused_not_a_crash(api, register):
    card = post(api, "gift-cards", money("9999999999999")).json()
    body = problem(post(api, f"gift-cards/{card['number']}/add-value", money("1", "T2")), 422, "balance_limit_exceeded")
    assert body["max_balance"] == "9999999999999.999999"


def test_add_value_refusals(api, other_api, register):
    card = issue_card(register, "10.00")
    problem(post(api, f"gift-cards/{card.number}/add-value", money("1", currency="EUR")), 422, "currency_mismatch")
    post(other_api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    problem(post(api, f"gift-cards/{card.number}/add-value", money("1")), 409, "card_locked")
    services.gift_card_release_lock(number=card.number, user=None, reason="test")
    services.gift_card_set_blocked(number=card.number, blocked=True)
    problem(post(api, f"gift-cards/{card.number}/add-value", money("1")), 422, "card_inactive")


def test_cash_out_pays_the_balance_at_or_below_the_threshold(api, register):
    card = issue_card(register, "5.00")
    body = post(api, f"gift-cards/{card.number}/cash-out", {"transaction_id": "T1"}).json()
    assert body["amount"] == "5.00" and body["card"]["balance"] == "0.00"
    assert LedgerEntry.objects.get(pk=body["entry_id"]).operation == "cash_out"


def test_cash_out_refusals(api, other_api, register):
    rich = issue_card(register, "5.01")
    refused = problem(
        post(api, f"gift-cards/{rich.number}/cash-out", {"transaction_id": "T1"}), 422, "cash_out_not_allowed"
    )
    assert refused["threshold"] == "5.00"
    card = issue_card(register, "3.00")
    post(other_api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    problem(post(api, f"gift-cards/{card.number}/cash-out", {"transaction_id": "T1"}), 409, "card_locked")
    services.gift_card_release_lock(number=card.number, user=None, reason="test")
    services.gift_card_set_blocked(number=card.number, blocked=True)
    problem(post(api, f"gift-cards/{card.number}/cash-out", {"transaction_id": "T1"}), 422, "card_inactive")
