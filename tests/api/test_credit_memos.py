"""Credit memo endpoints: single use, remainder memos, every error code of the contract."""

import pytest

from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import CreditMemo
from tests.api.conftest import get, post, problem
from tests.factories import issue_memo

pytestmark = pytest.mark.django_db

MEMO_KEYS = {"number", "currency", "amount", "status", "applied_amount", "remainder_of", "lock"}


def money(amount: str, tid: str = "T1", **extra) -> dict:
    return {"transaction_id": tid, "amount": amount, "currency": "USD", **extra}


def test_issue_returns_an_open_memo(api):
    response = post(api, "credit-memos", money("30", "RETURN-1"))
    assert response.status_code == 201
    memo = response.json()
    assert set(memo) == MEMO_KEYS
    assert (memo["amount"], memo["applied_amount"], memo["status"], memo["lock"]) == ("30.00", "0.00", "open", None)
    assert memo["remainder_of"] is None and memo["number"].startswith("CM-")


@pytest.mark.parametrize("amount", [30, "0", "-1", "1.001", "abc"])
def test_issue_refuses_bad_amounts(api, amount):
    problem(post(api, "credit-memos", money(amount)), 400, "invalid_amount")
    assert not CreditMemo.objects.exists()


def test_get_is_case_insensitive_and_unknown_is_memo_not_found(api, register):
    memo = issue_memo(register, "12.00")
    body = get(api, f"credit-memos/{memo.number.lower()}").json()
    assert body["number"] == memo.number and body["amount"] == "12.00"
    problem(get(api, "credit-memos/CM-0000000000000"), 404, "memo_not_found")
    problem(get(api, "credit-memos/bad!"), 404, "memo_not_found")


def test_lock_reserves_the_remainder_number_and_refuses_others(api, other_api, register):
    memo = issue_memo(register, "50.00")
    lock = post(api, f"credit-memos/{memo.number}/lock", {"transaction_id": "T1"}).json()["lock"]
    assert lock["register"] == "REG1" and lock["remainder_number"].startswith("CM-")
    again = post(api, f"credit-memos/{memo.number}/lock", {"transaction_id": "T1"}).json()["lock"]
    assert again == lock
    refused = problem(post(other_api, f"credit-memos/{memo.number}/lock", {"transaction_id": "T1"}), 409, "memo_locked")
    assert refused["lock"] == {"channel": "STORE1", "register": "REG1", "locked_at": lock["locked_at"]}


def test_unlock_by_owner_and_lock_not_held_for_others(api, other_api, register):
    memo = issue_memo(register)
    post(api, f"credit-memos/{memo.number}/lock", {"transaction_id": "T1"})
    problem(post(other_api, f"credit-memos/{memo.number}/unlock", {"transaction_id": "T1"}), 409, "lock_not_held")
    body = post(api, f"credit-memos/{memo.number}/unlock", {"transaction_id": "T1"}).json()
    assert body["lock"] is None and body["status"] == "open"


def test_partial_redeem_closes_the_memo_and_issues_the_reserved_remainder(api, register):
    memo = issue_memo(register, "50.00")
    reserved = post(api, f"credit-memos/{memo.number}/lock", {"transaction_id": "T1"}).json()["lock"][
        "remainder_number"
    ]
    response = post(api, f"credit-memos/{memo.number}/redeem", money("30", staff_id="7"))
    assert response.status_code == 200
    body = response.json()
    assert body["applied_amount"] == "30.00"
    assert body["memo"]["status"] == "applied" and body["memo"]["lock"] is None
    remainder = body["remainder"]
    assert remainder["number"] == reserved and remainder["amount"] == "20.00"
    assert remainder["remainder_of"] == memo.number and remainder["status"] == "open"
    assert get(api, f"credit-memos/{reserved}").json()["remainder_of"] == memo.number


def test_full_redeem_has_no_remainder(api, register):
    memo = issue_memo(register, "50.00")
    body = post(api, f"credit-memos/{memo.number}/redeem", money("50")).json()
    assert body["remainder"] is None and body["memo"]["applied_amount"] == "50.00"


def test_redeem_refusals(api, other_api, register):
    memo = issue_memo(register, "50.00")
    problem(post(api, f"credit-memos/{memo.number}/redeem", money("50.01")), 422, "amount_exceeds_memo")
    problem(post(api, f"credit-memos/{memo.number}/redeem", money("5", currency="EUR")), 422, "currency_mismatch")
    post(other_api, f"credit-memos/{memo.number}/lock", {"transaction_id": "T1"})
    problem(post(api, f"credit-memos/{memo.number}/redeem", money("5")), 409, "memo_locked")
    services.credit_memo_release_lock(number=memo.number, user=None, reason="test")
    post(other_api, f"credit-memos/{memo.number}/redeem", money("50"))
    problem(post(api, f"credit-memos/{memo.number}/redeem", money("5", "T2")), 422, "memo_not_open")
    problem(post(api, f"credit-memos/{memo.number}/lock", {"transaction_id": "T2"}), 422, "memo_not_open")
