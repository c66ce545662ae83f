"""Gift card services: every operation and every error code, nothing written on refusal."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce_hq.parameters.services import parameters_update
from commerce_hq.stored_value import errors, services
from commerce_hq.stored_value.models import AuditEvent, GiftCard, LedgerEntry
from commerce_hq.stored_value.services import Actor
from commerce_hq.stored_value.services.common import luhn_check_digit
from tests.factories import ChannelFactory, RegisterFactory, issue_card

pytestmark = pytest.mark.django_db


def redeem(card, register, amount="10.00", txn="T1", currency="USD"):
    return services.gift_card_redeem(
        number=card.number, actor=Actor.pos(register), transaction_id=txn, amount=Decimal(amount), currency=currency
    )


def ledger_sum(card) -> Decimal:
    return sum((e.amount for e in LedgerEntry.objects.filter(gift_card=card)), Decimal(0))


def test_issue_generates_a_luhn_number_and_books_the_issue(register):
    # when
    card = issue_card(register, "25.00")
    # then
    assert len(card.number) == 16 and card.number.isdigit()
    assert luhn_check_digit(card.number[:-1]) == card.number[-1]
    assert card.balance == Decimal("25.00") == ledger_sum(card)
    assert LedgerEntry.objects.get(gift_card=card).operation == "issue"


def test_issue_with_a_scanned_number_normalizes_it(register):
    card = issue_card(register, number="ab-12345678")
    assert card.number == "AB-12345678"


def test_issue_refuses_an_existing_number(register):
    issue_card(register, number="CARD-0001")
    with pytest.raises(errors.CardExists):
        issue_card(register, number="card-0001")
    assert GiftCard.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-5", "10.001", "0.000001"])
def test_issue_refuses_bad_amounts_and_writes_nothing(register, amount):
    with pytest.raises(errors.InvalidAmount):
        issue_card(register, amount)
    assert not GiftCard.objects.exists() and not LedgerEntry.objects.exists()


def test_issue_refuses_a_currency_other_than_the_stores(register):
    with pytest.raises(errors.CurrencyMismatch):
        issue_card(register, "10.00", currency="EUR")
    assert not GiftCard.objects.exists()


def test_issue_refuses_an_unknown_currency(register):
    with pytest.raises(errors.InvalidRequest):
        issue_card(register, "10.00", currency="XQQ")


@pytest.mark.parametrize("number", ["short", "has space 12345", "x" * 33, "ÄÖ123456"])
def test_issue_refuses_malformed_numbers(register, number):
    with pytest.raises(errors.InvalidRequest):
        issue_card(register, number=number)


def test_lock_is_exclusive_and_names_the_owner(register, other_register):
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    with pytest.raises(errors.CardLocked) as refused:
        services.gift_card_lock(number=card.number, register=other_register, transaction_id="T9")
    assert refused.value.extra["lock"]["register"] == "REG1"
    assert refused.value.extra["lock"]["channel"] == "STORE1"
    assert "register REG1" in refused.value.detail


def test_lock_by_the_same_register_but_another_transaction_is_refused(register):
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    with pytest.raises(errors.CardLocked):
        services.gift_card_lock(number=card.number, register=register, transaction_id="T2")


def test_lock_replayed_by_the_owner_changes_nothing(register):
    card = issue_card(register)
    first = services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    again = services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    assert again.locked_at == first.locked_at


def test_lock_takes_the_timeout_from_the_parameters(register):
    parameters_update(legal_entity=register.channel.legal_entity, changes={"gift_card.lock_timeout_minutes": "30"})
    card = services.gift_card_lock(number=issue_card(register).number, register=register, transaction_id="T1")
    assert card.lock_expires_at - card.locked_at == timedelta(minutes=30)


def test_an_expired_lock_gives_way_and_is_audited(register, other_register):
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    GiftCard.objects.filter(pk=card.pk).update(lock_expires_at=timezone.now() - timedelta(seconds=1))
    taken = services.gift_card_lock(number=card.number, register=other_register, transaction_id="T2")
    assert taken.lock_register == other_register
    assert AuditEvent.objects.get(gift_card=card).action == "lock_expired"


def test_locks_expire_sweeps_only_expired_locks(register):
    stale, fresh = issue_card(register), issue_card(register)
    services.gift_card_lock(number=stale.number, register=register, transaction_id="T1")
    services.gift_card_lock(number=fresh.number, register=register, transaction_id="T2")
    GiftCard.objects.filter(pk=stale.pk).update(lock_expires_at=timezone.now() - timedelta(minutes=1))
    assert services.locks_expire() == 1
    assert not GiftCard.objects.get(pk=stale.pk).is_locked
    assert GiftCard.objects.get(pk=fresh.pk).is_locked


@pytest.mark.parametrize("status", ["blocked", "closed"])
def test_lock_refuses_inactive_cards(register, status):
    card = issue_card(register)
    GiftCard.objects.filter(pk=card.pk).update(status=status)
    with pytest.raises(errors.CardInactive):
        services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    assert not GiftCard.objects.get(pk=card.pk).is_locked


def test_lock_refuses_an_expired_card(register):
    card = issue_card(register)
    GiftCard.objects.filter(pk=card.pk).update(expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(errors.CardInactive):
        services.gift_card_lock(number=card.number, register=register, transaction_id="T1")


def test_unknown_card(register):
    with pytest.raises(errors.CardNotFound):
        services.gift_card_lock(number="NOPE-0000", register=register, transaction_id="T1")


def test_unlock_by_owner_and_when_not_locked(register):
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    assert not services.gift_card_unlock(number=card.number, register=register, transaction_id="T1").is_locked
    assert not services.gift_card_unlock(number=card.number, register=register, transaction_id="T1").is_locked


def test_unlock_of_another_registers_lock_is_refused(register, other_register):
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    with pytest.raises(errors.LockNotHeld):
        services.gift_card_unlock(number=card.number, register=other_register, transaction_id="T1")
    assert GiftCard.objects.get(pk=card.pk).lock_register == register


def test_redeem_debits_unlocks_and_books_balance_after(register):
    card = issue_card(register, "100.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    card, entry = redeem(card, register, "30.00")
    assert card.balance == Decimal("70.00") and not card.is_locked
    assert (entry.operation, entry.amount, entry.balance_after) == ("redeem", Decimal("-30.00"), Decimal("70.00"))
    assert (entry.register, entry.channel, entry.origin) == (register, register.channel, "online")
    assert ledger_sum(card) == card.balance


def test_redeem_on_an_unlocked_card_locks_debits_and_unlocks(register):
    card, _ = redeem(issue_card(register, "20.00"), register, "20.00")
    assert card.balance == 0 and not card.is_locked


def test_redeem_replayed_by_the_owner_changes_nothing(register):
    card = issue_card(register, "50.00")
    _, first = redeem(card, register, "10.00")
    card, again = redeem(card, register, "10.00")
    assert again.pk == first.pk and card.balance == Decimal("40.00")
    assert LedgerEntry.objects.filter(operation="redeem").count() == 1


def test_redeem_replayed_with_another_amount_is_refused(register):
    card = issue_card(register, "50.00")
    redeem(card, register, "10.00")
    with pytest.raises(errors.AlreadyRedeemed):
        redeem(card, register, "11.00")
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("40.00")


def test_redeem_refusals_write_nothing(register, other_register):
    card = issue_card(register, "10.00")
    with pytest.raises(errors.InsufficientBalance):
        redeem(card, register, "10.01")
    with pytest.raises(errors.CurrencyMismatch):
        redeem(card, register, "1.00", currency="EUR")
    with pytest.raises(errors.InvalidAmount):
        redeem(card, register, "0")
    services.gift_card_lock(number=card.number, register=other_register, transaction_id="X")
    with pytest.raises(errors.CardLocked):
        redeem(card, register, "1.00")
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("10.00")
    assert LedgerEntry.objects.filter(gift_card=card).count() == 1


def test_insufficient_balance_keeps_the_owners_lock(register):
    card = issue_card(register, "5.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    with pytest.raises(errors.InsufficientBalance):
        redeem(card, register, "6.00")
    assert GiftCard.objects.get(pk=card.pk).lock_transaction_id == "T1"


def test_add_value_respects_the_max_balance(register):
    parameters_update(legal_entity=register.channel.legal_entity, changes={"gift_card.max_balance": "150"})
    card = issue_card(register, "100.00")
    card, entry = services.gift_card_add_value(
        number=card.number, actor=Actor.pos(register), transaction_id="T1", amount=Decimal("50"), currency="USD"
    )
    assert card.balance == Decimal("150.00") and entry.operation == "add_value"
    with pytest.raises(errors.BalanceLimitExceeded):
        services.gift_card_add_value(
            number=card.number, actor=Actor.pos(register), transaction_id="T2", amount=Decimal("0.01"), currency="USD"
        )
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("150.00")


def test_add_value_on_a_card_locked_elsewhere_is_refused(register, other_register):
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=other_register, transaction_id="X")
    with pytest.raises(errors.CardLocked):
        services.gift_card_add_value(
            number=card.number, actor=Actor.pos(register), transaction_id="T1", amount=Decimal("1"), currency="USD"
        )


def test_cash_out_at_or_below_the_threshold(register):
    card = issue_card(register, "5.00")
    card, entry = services.gift_card_cash_out(number=card.number, actor=Actor.pos(register), transaction_id="T1")
    assert card.balance == 0 and entry.amount == Decimal("-5.00") and entry.operation == "cash_out"
    again, replay = services.gift_card_cash_out(number=card.number, actor=Actor.pos(register), transaction_id="T1")
    assert replay.pk == entry.pk and again.balance == 0


def test_cash_out_above_the_threshold_or_of_nothing_is_refused(register):
    card = issue_card(register, "5.01")
    with pytest.raises(errors.CashOutNotAllowed):
        services.gift_card_cash_out(number=card.number, actor=Actor.pos(register), transaction_id="T1")
    redeem(card, register, "5.01", txn="T0")
    with pytest.raises(errors.CashOutNotAllowed):
        services.gift_card_cash_out(number=card.number, actor=Actor.pos(register), transaction_id="T2")


def test_release_lock_needs_a_reason_and_is_audited(register, admin_user):
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    with pytest.raises(errors.InvalidRequest):
        services.gift_card_release_lock(number=card.number, user=admin_user, reason="  ")
    assert GiftCard.objects.get(pk=card.pk).is_locked
    released = services.gift_card_release_lock(number=card.number, user=admin_user, reason="register broke")
    event = AuditEvent.objects.get(gift_card=card)
    assert not released.is_locked
    assert (event.action, event.user, event.reason, event.lock_register) == (
        "lock_released",
        admin_user,
        "register broke",
        register,
    )


def test_block_and_unblock(register):
    card = issue_card(register)
    assert services.gift_card_set_blocked(number=card.number, blocked=True).status == "blocked"
    with pytest.raises(errors.CardInactive):
        redeem(card, register, "1.00")
    assert services.gift_card_set_blocked(number=card.number, blocked=False).status == "active"
    assert [e.action for e in AuditEvent.objects.order_by("id")] == ["blocked", "unblocked"]


def test_adjustment_needs_a_reason_and_cannot_go_negative(register, admin_user):
    card = issue_card(register, "10.00")
    card, entry = services.gift_card_adjust(number=card.number, amount=Decimal("-2.50"), user=admin_user, reason="fix")
    assert card.balance == Decimal("7.50") and entry.note == "fix" and entry.origin == "back_office"
    with pytest.raises(errors.InsufficientBalance):
        services.gift_card_adjust(number=card.number, amount=Decimal("-8"), user=admin_user, reason="too much")
    assert ledger_sum(card) == Decimal("7.50")


def test_jpy_cards_take_whole_amounts_only(db):
    channel = ChannelFactory(code="TOKYO", currency="JPY")
    register = RegisterFactory(channel=channel, code="R1")
    card = issue_card(register, "1000", currency="JPY")
    with pytest.raises(errors.InvalidAmount):
        redeem(card, register, "1.5", currency="JPY")
    assert redeem(card, register, "500", currency="JPY")[0].balance == Decimal("500")


def test_a_card_blocked_while_locked_cannot_be_redeemed(register):
    card = issue_card(register, "10.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    services.gift_card_set_blocked(number=card.number, blocked=True)
    with pytest.raises(errors.CardInactive):
        redeem(card, register, "1.00")
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("10.00")


def test_release_confirmed_on_an_older_lock_releases_nothing(register, other_register, admin_user):
    card = issue_card(register)
    services.gift_card_lock(number=card.number, register=other_register, transaction_id="NEW")
    with pytest.raises(errors.LockNotHeld):
        services.gift_card_release_lock(
            number=card.number, user=admin_user, reason="stuck", expected_owner=(register.pk, "OLD")
        )
    assert GiftCard.objects.get(pk=card.pk).lock_transaction_id == "NEW"
    released = services.gift_card_release_lock(
        number=card.number, user=admin_user, reason="stuck", expected_owner=(other_register.pk, "NEW")
    )
    assert not released.is_locked


def test_a_register_does_not_see_another_legal_entitys_cards(register):
    from tests.factories import LegalEntityFactory

    foreign = RegisterFactory(channel=ChannelFactory(legal_entity=LegalEntityFactory(code="OTHER"), code="S9"))
    card = issue_card(register, "10.00")
    with pytest.raises(errors.CardNotFound):
        services.gift_card_lock(number=card.number, register=foreign, transaction_id="T1")
    with pytest.raises(errors.CardNotFound):
        redeem(card, foreign, "1.00")
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("10.00")


def test_a_transaction_that_locks_again_after_its_redeem_is_not_debited_twice(register):
    # given a redeemed transaction whose register locks the card again under the same id
    card = issue_card(register, "50.00")
    _, first = redeem(card, register, "10.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    # when it redeems again
    card, again = redeem(card, register, "10.00")
    # then the first entry is returned, the lock is ended, nothing is debited twice
    assert again.pk == first.pk and not card.is_locked
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("40.00") == ledger_sum(card)


def test_a_cash_out_replayed_after_locking_again_is_not_booked_twice(register):
    card = issue_card(register, "4.00")
    _, first = services.gift_card_cash_out(number=card.number, actor=Actor.pos(register), transaction_id="C1")
    services.gift_card_lock(number=card.number, register=register, transaction_id="C1")
    _, again = services.gift_card_cash_out(number=card.number, actor=Actor.pos(register), transaction_id="C1")
    assert again.pk == first.pk and not GiftCard.objects.get(pk=card.pk).is_locked
