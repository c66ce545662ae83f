"""Money safety under real concurrency: PostgreSQL row locks, real threads."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction

from commerce_hq.reconcile import run_reconcile
from commerce_hq.stored_value import errors, services
from commerce_hq.stored_value.models import GiftCard, LedgerEntry
from commerce_hq.stored_value.services import Actor
from tests.factories import RegisterFactory, issue_card, issue_memo

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

RACERS = 16


def race(call, count=RACERS):
    """Run ``call(i)`` in ``count`` threads released together; returns each result or exception."""
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait()
            return call(index)
        except Exception as exc:
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def registers(channel):
    return [RegisterFactory(channel=channel, code=f"R{i:02}") for i in range(RACERS)]


def test_sixteen_registers_lock_one_card_exactly_one_wins(registers):
    card = issue_card(registers[0])
    outcomes = race(
        lambda i: services.gift_card_lock(number=card.number, register=registers[i], transaction_id=f"T{i}")
    )
    winners = [o for o in outcomes if isinstance(o, GiftCard)]
    refused = [o for o in outcomes if isinstance(o, errors.CardLocked)]
    assert (len(winners), len(refused)) == (1, RACERS - 1)
    assert GiftCard.objects.get(pk=card.pk).lock_register == winners[0].lock_register


def test_sixteen_registers_lock_one_memo_exactly_one_wins(registers):
    memo = issue_memo(registers[0])
    outcomes = race(lambda i: services.credit_memo_lock(number=memo.number, register=registers[i], transaction_id="T"))
    assert sum(not isinstance(o, Exception) for o in outcomes) == 1
    assert sum(isinstance(o, errors.MemoLocked) for o in outcomes) == RACERS - 1


def test_concurrent_redemptions_never_overspend(registers):
    # given a card that covers 10 of 16 redemptions
    card = issue_card(registers[0], "100.00")

    # when 16 registers each redeem 10.00 at once
    def spend(i):
        return services.gift_card_redeem(
            number=card.number,
            actor=Actor.pos(registers[i]),
            transaction_id=f"T{i}",
            amount=Decimal("10"),
            currency="USD",
        )

    outcomes = race(spend)

    # then exactly ten succeed, six are refused, and the ledger agrees with the balance
    assert sum(isinstance(o, tuple) for o in outcomes) == 10
    assert sum(isinstance(o, errors.InsufficientBalance | errors.CardLocked) for o in outcomes) == 6
    assert GiftCard.objects.get(pk=card.pk).balance == 0
    assert run_reconcile().ok


def test_owner_replays_in_parallel_change_nothing(registers):
    register = registers[0]
    card = issue_card(register, "50.00")
    services.gift_card_lock(number=card.number, register=register, transaction_id="T1")
    race(lambda i: services.gift_card_lock(number=card.number, register=register, transaction_id="T1"), 8)
    outcomes = race(
        lambda i: services.gift_card_redeem(
            number=card.number, actor=Actor.pos(register), transaction_id="T1", amount=Decimal("20"), currency="USD"
        ),
        8,
    )
    assert len({o[1].pk for o in outcomes}) == 1
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("30.00")
    race(lambda i: services.gift_card_unlock(number=card.number, register=register, transaction_id="T1"), 8)
    assert LedgerEntry.objects.filter(gift_card=card, operation="redeem").count() == 1
    assert run_reconcile().ok


def test_concurrent_memo_redemptions_apply_once(registers):
    memo = issue_memo(registers[0], "50.00")
    outcomes = race(
        lambda i: services.credit_memo_redeem(
            number=memo.number,
            actor=Actor.pos(registers[i]),
            transaction_id=f"T{i}",
            amount=Decimal("5"),
            currency="USD",
        )
    )
    assert sum(isinstance(o, tuple) for o in outcomes) == 1
    assert LedgerEntry.objects.filter(credit_memo=memo, operation="redeem").count() == 1
    assert run_reconcile().ok


def test_the_database_refuses_a_negative_balance(register):
    card = issue_card(register, "1.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        GiftCard.objects.filter(pk=card.pk).update(balance=Decimal("-0.01"))


def test_the_database_refuses_a_half_set_lock(register):
    card = issue_card(register, "1.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        GiftCard.objects.filter(pk=card.pk).update(lock_register=register)


def test_reconcile_reports_a_balance_that_disagrees_with_the_ledger(register):
    card = issue_card(register, "10.00")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE stored_value_giftcard SET balance = 11 WHERE id = %s", [card.pk])
    report = run_reconcile()
    assert not report.ok and card.number in report.problems[0]
