"""P-0001 apply rules, one per API.md bullet, on the service ``offline_transactions_apply``."""

from decimal import Decimal

import pytest

from commerce_hq.distribution.services import offline_transactions_apply
from commerce_hq.reconcile import run_reconcile
from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import CreditMemo, GiftCard, LedgerEntry, ShortfallEntry
from commerce_hq.stored_value.services import Actor
from tests.distribution.helpers import allow_offline, codes, minutes_ago, redeem, stage, staged, unlock
from tests.factories import LegalEntityFactory, RegisterFactory, issue_card, issue_memo

pytestmark = pytest.mark.django_db


def lock_card(card, register, tx):
    return services.gift_card_lock(number=card.number, register=register, transaction_id=tx)


def redeem_online(card, register, tx, amount):
    return services.gift_card_redeem(
        number=card.number, actor=Actor.pos(register), transaction_id=tx, amount=Decimal(amount), currency="USD"
    )


def test_redeem_on_a_held_lock_debits_unlocks_and_records_who(register):
    # given
    allow_offline(register)
    card = issue_card(register, "100.00")
    lock_card(card, register, "T1")
    stage(register, "T1", [redeem(card.number, "12.50")])
    # when
    result = offline_transactions_apply()
    # then
    card.refresh_from_db()
    entry = LedgerEntry.objects.get(gift_card=card, operation="redeem")
    assert (result.applied, result.exceptions) == (1, 0)
    assert card.balance == Decimal("87.50") and not card.is_locked
    assert (entry.origin, entry.staff_id, entry.register, entry.channel) == (
        "offline",
        "042",
        register,
        register.channel,
    )
    assert entry.transaction_id == "T1" and entry.amount == Decimal("-12.50")
    row = staged(register, "T1")
    assert row.status == "applied" and row.applied_at is not None and codes(row) == []
    assert run_reconcile().ok


def test_memo_redeem_on_a_held_lock_issues_the_remainder_under_the_reserved_number(register):
    allow_offline(register)
    memo = issue_memo(register, "50.00")
    reserved = services.credit_memo_lock(
        number=memo.number, register=register, transaction_id="T1"
    ).lock_remainder_number
    stage(register, "T1", [redeem(memo.number, "30.00", "credit_memo", remainder_number=reserved)])

    offline_transactions_apply()

    memo.refresh_from_db()
    remainder = CreditMemo.objects.get(remainder_of=memo)
    assert memo.status == "applied" and memo.applied_amount == Decimal("30") and not memo.is_locked
    assert remainder.number == reserved and remainder.amount == Decimal("20") and remainder.status == "open"
    assert codes(staged(register, "T1")) == [] and run_reconcile().ok


def test_card_another_register_holds_and_this_one_never_locked_books_nothing(register, other_register):
    allow_offline(register)
    card = issue_card(register, "100.00")
    lock_card(card, other_register, "OTHER")
    stage(register, "T1", [redeem(card.number, "10.00")])

    offline_transactions_apply()

    card.refresh_from_db()
    assert card.balance == Decimal("100.00") and not ShortfallEntry.objects.exists()
    assert card.lock_register == other_register and card.lock_transaction_id == "OTHER"
    assert codes(staged(register, "T1")) == ["not_locked_online"]


def test_lock_taken_over_after_expiry_by_another_register_is_booked_as_lock_lost(register, other_register):
    allow_offline(register, **{"gift_card.lock_timeout_minutes": "1"})
    card = issue_card(register, "100.00")
    lock_card(card, register, "T1")
    GiftCard.objects.filter(pk=card.pk).update(lock_expires_at=minutes_ago(1))
    lock_card(card, other_register, "OTHER")
    stage(register, "T1", [redeem(card.number, "10.00")])

    offline_transactions_apply()

    card.refresh_from_db()
    assert card.balance == Decimal("90.00")
    assert card.lock_register == other_register and card.lock_transaction_id == "OTHER"
    assert codes(staged(register, "T1")) == ["lock_lost"]


def test_released_lock_spent_elsewhere_books_the_shortfall(register, other_register):
    # given: REG1 locked, went offline; an admin released the lock and REG2 spent most of the card
    allow_offline(register)
    card = issue_card(register, "30.00")
    lock_card(card, register, "T1")
    services.gift_card_release_lock(number=card.number, user=None, reason="customer at another till")
    redeem_online(card, other_register, "O1", "25")
    stage(register, "T1", [redeem(card.number, "20.00")])
    # when
    offline_transactions_apply()
    # then: 5 covered, 15 short
    card.refresh_from_db()
    shortfall = ShortfallEntry.objects.get(transaction_id="T1")
    assert card.balance == 0 and shortfall.amount == Decimal("15") and shortfall.gift_card == card
    row = staged(register, "T1")
    assert row.status == "exception" and codes(row) == ["lock_lost", "offline_overspend"]
    assert row.sync_exceptions.get(code="offline_overspend").amount == Decimal("15")
    assert run_reconcile().ok


def test_expired_lock_of_an_unmoved_card_is_not_lost(register):
    allow_offline(register, **{"gift_card.lock_timeout_minutes": 1})
    card = issue_card(register, "40.00")
    lock_card(card, register, "T1")
    GiftCard.objects.filter(pk=card.pk).update(lock_expires_at=minutes_ago(1))
    assert services.locks_expire() == 1
    stage(register, "T1", [redeem(card.number, "10.00")])

    offline_transactions_apply()

    card.refresh_from_db()
    assert card.balance == Decimal("30.00") and codes(staged(register, "T1")) == []


def test_expired_lock_of_a_card_that_moved_since_is_lost(register, other_register):
    allow_offline(register, **{"gift_card.lock_timeout_minutes": 1})
    card = issue_card(register, "40.00")
    lock_card(card, register, "T1")
    GiftCard.objects.filter(pk=card.pk).update(lock_expires_at=minutes_ago(1))
    services.locks_expire()
    redeem_online(card, other_register, "O1", "5")
    stage(register, "T1", [redeem(card.number, "10.00")])

    offline_transactions_apply()

    card.refresh_from_db()
    assert card.balance == Decimal("25.00") and codes(staged(register, "T1")) == ["lock_lost"]


def test_conclusion_before_the_switch_reached_the_channel_is_not_allowed(register):
    # given: the lock was taken and the sale concluded before any distribution (version 0)
    card = issue_card(register, "100.00")
    lock_card(card, register, "T1")
    concluded = minutes_ago(1)
    allow_offline(register)
    stage(register, "T1", [redeem(card.number, "10.00")], concluded_at=concluded)
    # when
    offline_transactions_apply()
    # then: booked anyway, flagged
    card.refresh_from_db()
    row = staged(register, "T1")
    assert card.balance == Decimal("90.00") and not card.is_locked
    assert codes(row) == ["offline_not_allowed"]
    assert "version 0" in row.sync_exceptions.get().detail


def test_switch_changed_but_not_distributed_does_not_count(register):
    from commerce_hq.parameters.services import parameters_update

    card = issue_card(register, "100.00")
    lock_card(card, register, "T1")
    parameters_update(legal_entity=register.channel.legal_entity, changes={"gift_card.allow_offline_conclusion": True})
    stage(register, "T1", [redeem(card.number, "10.00")])

    offline_transactions_apply()

    assert codes(staged(register, "T1")) == ["offline_not_allowed"]


def test_redemptions_of_one_kind_together_over_the_limit(register):
    allow_offline(register, **{"gift_card.offline_limit": "20.00", "credit_memo.offline_limit": "100.00"})
    first, second = issue_card(register, "50.00"), issue_card(register, "50.00")
    memo = issue_memo(register, "60.00")
    for obj in (first, second):
        lock_card(obj, register, "T1")
    services.credit_memo_lock(number=memo.number, register=register, transaction_id="T1")
    stage(
        register,
        "T1",
        [redeem(first.number, "15.00"), redeem(second.number, "10.00"), redeem(memo.number, "60.00", "credit_memo")],
    )

    offline_transactions_apply()

    first.refresh_from_db()
    row = staged(register, "T1")
    assert first.balance == Decimal("35.00") and codes(row) == ["offline_limit_exceeded"]
    assert "gift card" in row.sync_exceptions.get().detail


def test_unknown_numbers_book_nothing(register):
    allow_offline(register)
    stage(register, "T1", [redeem("6012999999999999", "5.00"), redeem("CM-0000000000000", "5.00", "credit_memo")])

    offline_transactions_apply()

    assert codes(staged(register, "T1")) == ["unknown_card", "unknown_memo"]
    assert not LedgerEntry.objects.filter(transaction_id="T1").exists()
    assert not ShortfallEntry.objects.exists()


def test_another_legal_entitys_numbers_are_unknown_and_book_nothing(register):
    # given: a card and a memo of another legal entity, uploaded by this register
    allow_offline(register)
    elsewhere = RegisterFactory(channel__legal_entity=LegalEntityFactory(code="OTHER"))
    card, memo = issue_card(elsewhere, "100.00"), issue_memo(elsewhere, "50.00")
    stage(register, "T1", [redeem(card.number, "5.00"), redeem(memo.number, "5.00", "credit_memo")])
    # when
    offline_transactions_apply()
    # then
    card.refresh_from_db()
    memo.refresh_from_db()
    assert card.balance == Decimal("100.00") and memo.balance == Decimal("50.00") and memo.status == "open"
    assert codes(staged(register, "T1")) == ["unknown_card", "unknown_memo"]
    assert not LedgerEntry.objects.filter(transaction_id="T1").exists()


def test_blocked_card_is_booked_and_flagged_inactive(register):
    allow_offline(register)
    card = issue_card(register, "100.00")
    lock_card(card, register, "T1")
    services.gift_card_set_blocked(number=card.number, blocked=True, reason="reported stolen")
    stage(register, "T1", [redeem(card.number, "10.00")])

    offline_transactions_apply()

    card.refresh_from_db()
    assert card.balance == Decimal("90.00") and codes(staged(register, "T1")) == ["card_inactive"]


def test_currency_mismatch_books_nothing(register):
    allow_offline(register)
    card = issue_card(register, "100.00")
    lock_card(card, register, "T1")
    stage(register, "T1", [{**redeem(card.number, "10.00"), "currency": "EUR"}])

    offline_transactions_apply()

    card.refresh_from_db()
    assert card.balance == Decimal("100.00") and codes(staged(register, "T1")) == ["currency_mismatch"]


def test_unlock_releases_only_this_transactions_lock(register, other_register):
    allow_offline(register)
    mine, theirs = issue_card(register), issue_card(register)
    lock_card(mine, register, "T1")
    lock_card(theirs, other_register, "O1")
    stage(register, "T1", [unlock(mine.number), unlock(theirs.number)])

    offline_transactions_apply()

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert not mine.is_locked and theirs.lock_register == other_register
    assert staged(register, "T1").status == "applied"


@pytest.mark.parametrize(
    ("offline_amount", "expected"),
    [("10.00", []), ("12.00", ["already_redeemed"])],
    ids=["same amount", "another amount flagged"],
)
def test_sale_that_went_through_online_is_not_debited_twice(register, offline_amount, expected):
    allow_offline(register)
    card = issue_card(register, "100.00")
    lock_card(card, register, "T1")
    redeem_online(card, register, "T1", "10")
    stage(register, "T1", [redeem(card.number, offline_amount)])

    offline_transactions_apply()

    card.refresh_from_db()
    row = staged(register, "T1")
    assert card.balance == Decimal("90.00") and LedgerEntry.objects.filter(operation="redeem").count() == 1
    assert codes(row) == expected and row.status == ("exception" if expected else "applied")


def test_memo_over_its_amount_books_the_rest_as_shortfall(register):
    allow_offline(register)
    memo = issue_memo(register, "50.00")
    services.credit_memo_lock(number=memo.number, register=register, transaction_id="T1")
    stage(register, "T1", [redeem(memo.number, "60.00", "credit_memo")])

    offline_transactions_apply()

    memo.refresh_from_db()
    assert memo.status == "applied" and memo.applied_amount == Decimal("50") and memo.balance == 0
    assert not CreditMemo.objects.filter(remainder_of=memo).exists()
    assert ShortfallEntry.objects.get(credit_memo=memo).amount == Decimal("10")
    assert codes(staged(register, "T1")) == ["offline_overspend"] and run_reconcile().ok


def test_memo_applied_elsewhere_is_all_shortfall(register, other_register):
    allow_offline(register, **{"credit_memo.lock_timeout_minutes": "1"})
    memo = issue_memo(register, "50.00")
    services.credit_memo_lock(number=memo.number, register=register, transaction_id="T1")
    CreditMemo.objects.filter(pk=memo.pk).update(lock_expires_at=minutes_ago(1))
    services.credit_memo_redeem(
        number=memo.number, actor=Actor.pos(other_register), transaction_id="O1", amount=Decimal("50"), currency="USD"
    )
    stage(register, "T1", [redeem(memo.number, "20.00", "credit_memo")])

    offline_transactions_apply()

    assert ShortfallEntry.objects.get(credit_memo=memo).amount == Decimal("20")
    assert codes(staged(register, "T1")) == ["lock_lost", "offline_overspend"]
    assert run_reconcile().ok


def test_printed_remainder_number_is_kept_when_free_and_renumbered_when_taken(register):
    allow_offline(register)
    free, clash = issue_memo(register, "50.00"), issue_memo(register, "50.00")
    taken = issue_memo(register, "5.00").number
    for memo, tx in ((free, "T1"), (clash, "T2")):
        services.credit_memo_lock(number=memo.number, register=register, transaction_id=tx)
        services.credit_memo_release_lock(number=memo.number, user=None, reason="register replaced")
    stage(register, "T1", [redeem(free.number, "10.00", "credit_memo", remainder_number="CM-PRINTED-0001")])
    stage(register, "T2", [redeem(clash.number, "10.00", "credit_memo", remainder_number=taken)])

    offline_transactions_apply()

    assert CreditMemo.objects.get(remainder_of=free).number == "CM-PRINTED-0001"
    renumbered = CreditMemo.objects.get(remainder_of=clash)
    assert renumbered.number != taken and renumbered.amount == Decimal("40")
    assert codes(staged(register, "T2")) == ["lock_lost", "remainder_renumbered"]


def test_conflicting_reupload_is_excepted_and_books_nothing(register):
    allow_offline(register)
    card = issue_card(register, "100.00")
    lock_card(card, register, "T1")
    stage(register, "T1", [redeem(card.number, "10.00")])
    assert stage(register, "T1", [redeem(card.number, "99.00")]).conflicts == ["T1"]

    offline_transactions_apply()

    card.refresh_from_db()
    conflict = staged(register, "T1").conflicts.get()
    assert card.balance == Decimal("90.00") and conflict.status == "exception"
    assert codes(conflict) == ["upload_conflict"] and codes(staged(register, "T1")) == []


def test_earlier_conclusion_gets_the_money_first(register, other_register):
    allow_offline(register)
    card = issue_card(register, "10.00")
    lock_card(card, other_register, "LATE")
    services.gift_card_release_lock(number=card.number, user=None, reason="customer went to another till")
    lock_card(card, register, "EARLY")
    stage(other_register, "LATE", [redeem(card.number, "10.00")], concluded_at=minutes_ago(0))
    stage(register, "EARLY", [redeem(card.number, "10.00")], concluded_at=minutes_ago(0.5))

    offline_transactions_apply()

    assert "offline_overspend" not in codes(staged(register, "EARLY"))
    assert "offline_overspend" in codes(staged(other_register, "LATE"))


def test_one_failing_transaction_is_excepted_and_the_rest_applied(register, monkeypatch):
    from commerce_hq.distribution.services import uploads

    allow_offline(register)
    card = issue_card(register, "100.00")
    real = uploads.offline_conclusions_apply

    def fail_on_boom(*, conclusions):
        if any(c.transaction_id == "BOOM" for c in conclusions):
            raise ValueError("boom")
        return real(conclusions=conclusions)

    monkeypatch.setattr(uploads, "offline_conclusions_apply", fail_on_boom)
    for tx in ("A", "BOOM", "B"):
        lock_card(card, register, tx)
        services.gift_card_release_lock(number=card.number, user=None, reason="next sale")
        stage(register, tx, [redeem(card.number, "1.00")])

    result = offline_transactions_apply()

    card.refresh_from_db()
    assert result.applied == 3 and card.balance == Decimal("98.00")
    assert codes(staged(register, "BOOM")) == ["apply_failed"]
    assert "boom" in staged(register, "BOOM").sync_exceptions.get().detail
    assert codes(staged(register, "A")) == codes(staged(register, "B")) == ["lock_lost"]


@pytest.mark.parametrize("chunk_size", [1, 500])
def test_batched_and_one_at_a_time_book_the_same(register, other_register, chunk_size):
    # given: three held cards overspent offline, then another register's redemptions of locks an
    # admin released (one of them a card the first register then redeemed)
    allow_offline(register, **{"gift_card.offline_limit": "30.00"})
    cards = [issue_card(register, "20.00") for _ in range(4)]
    for card in (cards[3], cards[0]):
        lock_card(card, other_register, "X")
        services.gift_card_release_lock(number=card.number, user=None, reason="register offline too long")
    for index, card in enumerate(cards[:3]):
        lock_card(card, register, f"T{index}")
        stage(register, f"T{index}", [redeem(card.number, "25.00")])
    stage(other_register, "X", [redeem(cards[3].number, "5.00"), redeem(cards[0].number, "1.00")])
    # when
    result = offline_transactions_apply(chunk_size=chunk_size)
    # then
    booked = sorted(LedgerEntry.objects.filter(origin="offline").values_list("gift_card__number", "amount"))
    assert booked == sorted([(c.number, Decimal("-20")) for c in cards[:3]] + [(cards[3].number, Decimal("-5"))])
    assert [codes(staged(register, f"T{i}")) for i in range(3)] == [["offline_overspend"]] * 3
    assert codes(staged(other_register, "X")) == ["lock_lost", "lock_lost", "offline_overspend"]
    assert sum(ShortfallEntry.objects.values_list("amount", flat=True)) == Decimal("16")
    assert (result.applied, result.with_exceptions, result.exceptions) == (4, 4, 6)
    assert not GiftCard.objects.filter(lock_register__isnull=False).exists() and run_reconcile().ok
