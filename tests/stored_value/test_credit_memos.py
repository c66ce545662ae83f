"""Credit memos are single use: partial redemption closes the memo and issues the remainder."""

from decimal import Decimal

import pytest

from commerce_hq.stored_value import errors, services
from commerce_hq.stored_value.models import AuditEvent, CreditMemo, LedgerEntry
from commerce_hq.stored_value.selectors import ReconcileReport, reconcile_stored_value
from commerce_hq.stored_value.services import Actor
from tests.factories import issue_memo

pytestmark = pytest.mark.django_db


def redeem(memo, register, amount, txn="T1", currency="USD"):
    return services.credit_memo_redeem(
        number=memo.number, actor=Actor.pos(register), transaction_id=txn, amount=Decimal(amount), currency=currency
    )


def test_issue_numbers_and_books(register):
    memo = issue_memo(register, "40.00")
    assert memo.number.startswith("CM-") and len(memo.number) == 16
    assert (memo.status, memo.balance, memo.amount) == ("open", Decimal("40.00"), Decimal("40.00"))
    assert LedgerEntry.objects.get(credit_memo=memo).amount == Decimal("40.00")


def test_issue_refuses_bad_amount_and_currency(register):
    with pytest.raises(errors.InvalidAmount):
        issue_memo(register, "0")
    with pytest.raises(errors.CurrencyMismatch):
        issue_memo(register, "5.00", currency="EUR")
    assert not CreditMemo.objects.exists()


def test_lock_reserves_a_remainder_number(register, other_register):
    memo = issue_memo(register)
    locked = services.credit_memo_lock(number=memo.number, register=register, transaction_id="T1")
    assert locked.lock_remainder_number.startswith("CM-") and locked.lock_remainder_number != memo.number
    again = services.credit_memo_lock(number=memo.number, register=register, transaction_id="T1")
    assert again.lock_remainder_number == locked.lock_remainder_number
    with pytest.raises(errors.MemoLocked) as refused:
        services.credit_memo_lock(number=memo.number, register=other_register, transaction_id="T2")
    assert refused.value.extra["lock"]["register"] == "REG1"


def test_partial_redeem_closes_the_memo_and_issues_the_reserved_remainder(register):
    memo = issue_memo(register, "50.00")
    reserved = services.credit_memo_lock(
        number=memo.number, register=register, transaction_id="T1"
    ).lock_remainder_number
    memo, remainder = redeem(memo, register, "30.00")
    assert (memo.status, memo.applied_amount, memo.balance, memo.is_locked) == ("applied", Decimal("30"), 0, False)
    assert (remainder.number, remainder.amount, remainder.remainder_of) == (reserved, Decimal("20.00"), memo)
    operations = list(LedgerEntry.objects.filter(credit_memo=memo).values_list("operation", "amount"))
    assert operations == [("issue", Decimal("50")), ("redeem", Decimal("-30")), ("remainder_out", Decimal("-20"))]
    assert reconcile_stored_value(ReconcileReport()).ok


def test_full_redeem_leaves_no_remainder(register):
    memo, remainder = redeem(issue_memo(register, "50.00"), register, "50")
    assert memo.status == "applied" and remainder is None


def test_redeem_over_the_memo_amount_is_refused(register):
    memo = issue_memo(register, "50.00")
    with pytest.raises(errors.AmountExceedsMemo):
        redeem(memo, register, "50.01")
    assert CreditMemo.objects.get(pk=memo.pk).status == "open"


def test_an_applied_memo_is_not_open(register, other_register):
    memo = issue_memo(register, "50.00")
    redeem(memo, register, "10")
    with pytest.raises(errors.MemoNotOpen):
        services.credit_memo_lock(number=memo.number, register=other_register, transaction_id="T2")
    with pytest.raises(errors.MemoNotOpen):
        redeem(memo, other_register, "1", txn="T3")


def test_redeem_replayed_by_the_owner_returns_the_same_remainder(register):
    memo = issue_memo(register, "50.00")
    _, first = redeem(memo, register, "10")
    _, again = redeem(memo, register, "10")
    assert again.pk == first.pk and CreditMemo.objects.count() == 2
    with pytest.raises(errors.AlreadyRedeemed):
        redeem(memo, register, "11")


def test_redeem_currency_mismatch(register):
    with pytest.raises(errors.CurrencyMismatch):
        redeem(issue_memo(register), register, "1", currency="EUR")


def test_unlock_owner_and_other(register, other_register):
    memo = issue_memo(register)
    services.credit_memo_lock(number=memo.number, register=register, transaction_id="T1")
    with pytest.raises(errors.LockNotHeld):
        services.credit_memo_unlock(number=memo.number, register=other_register, transaction_id="T1")
    unlocked = services.credit_memo_unlock(number=memo.number, register=register, transaction_id="T1")
    assert not unlocked.is_locked and unlocked.lock_remainder_number == ""


def test_unknown_memo(register):
    with pytest.raises(errors.MemoNotFound):
        services.credit_memo_lock(number="CM-0000000000000", register=register, transaction_id="T1")


def test_release_lock_and_void_are_audited(register, admin_user):
    memo = issue_memo(register)
    services.credit_memo_lock(number=memo.number, register=register, transaction_id="T1")
    with pytest.raises(errors.MemoLocked):
        services.credit_memo_void(number=memo.number, user=admin_user, reason="wrong")
    services.credit_memo_release_lock(number=memo.number, user=admin_user, reason="stuck")
    voided = services.credit_memo_void(number=memo.number, user=admin_user, reason="issued by mistake")
    assert (voided.status, voided.balance) == ("voided", 0)
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["lock_released", "voided"]
    assert reconcile_stored_value(ReconcileReport()).ok
