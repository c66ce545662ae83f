from decimal import Decimal

from commerce_hq.stored_value import services
from commerce_hq.stored_value.selectors import ReconcileReport, reconcile_stored_value
from commerce_hq.stored_value.services import Actor
from tests.factories import issue_card, issue_memo


def test_lock_redeem_and_memo_remainder_reconcile(register):
    card = issue_card(register, "100.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    card, entry = services.gift_card_redeem(
        number=card.number, actor=Actor.pos(register), transaction_id="T1", amount=Decimal("12.50"), currency="USD"
    )
    assert card.balance == Decimal("87.50") and not card.is_locked and entry.amount == Decimal("-12.50")
    memo = issue_memo(register, "50.00")
    locked = services.credit_memo_lock(number=memo.number, register=register, transaction_id="T2")
    reserved = locked.lock_remainder_number
    memo, remainder = services.credit_memo_redeem(
        number=memo.number, actor=Actor.pos(register), transaction_id="T2", amount=Decimal("30"), currency="USD"
    )
    assert memo.status == "applied" and remainder.number == reserved and remainder.amount == Decimal("20")
    assert reconcile_stored_value(ReconcileReport()).ok


def test_reconcile_is_exact_for_sums_that_floats_cannot_hold(register):
    # given amounts whose float sum is not exact (0.1 + 0.2 style)
    card = issue_card(register, "500.00")
    for index, amount in enumerate(["2.76", "11.66", "17.36"]):
        services.gift_card_redeem(
            number=card.number,
            actor=Actor.pos(register),
            transaction_id=f"T{index}",
            amount=Decimal(amount),
            currency="USD",
        )
    # then reconcile finds the books exact
    assert reconcile_stored_value(ReconcileReport()).ok
