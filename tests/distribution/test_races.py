"""P-0001 racing online redemptions of the same cards (PostgreSQL row locks, real threads)."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections
from django.db.models import Sum

from commerce_hq.distribution.services import offline_transactions_apply
from commerce_hq.reconcile import run_reconcile
from commerce_hq.stored_value import services
from commerce_hq.stored_value.errors import InsufficientBalance
from commerce_hq.stored_value.models import GiftCard, LedgerEntry, ShortfallEntry
from commerce_hq.stored_value.services import Actor
from pos_api.channel_db.models import OfflineTransaction
from tests.distribution.helpers import allow_offline, redeem, stage
from tests.factories import RegisterFactory, issue_card

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CARDS = 40
ONLINE_TILLS = 3


def test_offline_apply_and_online_redeems_on_the_same_cards_never_lose_money(register):
    # given: REG1 concluded 30.00 offline on each card; an admin then released its locks
    allow_offline(register)
    cards = [issue_card(register, "50.00") for _ in range(CARDS)]
    for n, card in enumerate(cards):
        services.gift_card_lock(number=card.number, register=register, transaction_id=f"OFF{n}")
        services.gift_card_release_lock(number=card.number, user=None, reason="register unreachable")
        stage(register, f"OFF{n}", [redeem(card.number, "30.00")])
    tills = [RegisterFactory(channel=register.channel, code=f"ON{i}") for i in range(ONLINE_TILLS)]
    barrier = threading.Barrier(ONLINE_TILLS + 1)

    def online(index: int) -> list[str]:
        outcomes = []
        barrier.wait()
        for card in random.sample(cards, len(cards)):
            try:
                services.gift_card_redeem(
                    number=card.number,
                    actor=Actor.pos(tills[index]),
                    transaction_id=f"ON{index}-{card.pk}",
                    amount=Decimal("30.00"),
                    currency="USD",
                )
                outcomes.append("ok")
            except InsufficientBalance:
                outcomes.append("short")
        connections.close_all()
        return outcomes

    def upload_job() -> int:
        barrier.wait()
        applied = offline_transactions_apply(chunk_size=4).applied
        connections.close_all()
        return applied

    # when: the upload job runs while three tills redeem the same cards online
    with ThreadPoolExecutor(max_workers=ONLINE_TILLS + 1) as pool:
        job = pool.submit(upload_job)
        tills_done = [pool.submit(online, i) for i in range(ONLINE_TILLS)]
        applied = job.result(timeout=120)
        online_outcomes = [outcome for till in tills_done for outcome in till.result(timeout=120)]

    # then: every upload applied once; each card's 50.00 went to exactly what its ledger says
    assert applied == CARDS and not OfflineTransaction.objects.filter(status="pending").exists()
    assert online_outcomes.count("ok") <= CARDS
    for card in GiftCard.objects.filter(pk__in=[c.pk for c in cards]):
        offline = -(LedgerEntry.objects.filter(gift_card=card, origin="offline").aggregate(s=Sum("amount"))["s"] or 0)
        online = -(
            LedgerEntry.objects.filter(gift_card=card, origin="online", operation="redeem").aggregate(s=Sum("amount"))[
                "s"
            ]
            or 0
        )
        short = ShortfallEntry.objects.filter(gift_card=card).aggregate(s=Sum("amount"))["s"] or 0
        assert card.balance + offline + online == Decimal("50.00")
        assert offline + short == Decimal("30.00") and online in (0, Decimal("30.00"))
    assert run_reconcile().ok


def test_two_appliers_at_once_never_take_the_same_upload(register):
    # given: uploads on many cards, and two appliers started together without the job lock
    allow_offline(register)
    cards = [issue_card(register, "10.00") for _ in range(CARDS)]
    for n, card in enumerate(cards):
        services.gift_card_lock(number=card.number, register=register, transaction_id=f"T{n}")
        stage(register, f"T{n}", [redeem(card.number, "1.00")])
    barrier = threading.Barrier(2)

    def applier(_) -> int:
        barrier.wait()
        applied = offline_transactions_apply(chunk_size=3).applied
        connections.close_all()
        return applied

    # when
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = list(pool.map(applier, range(2)))
    # then: skip_locked split the work; each upload debited once
    assert sum(counts) == CARDS
    assert LedgerEntry.objects.filter(origin="offline").count() == CARDS
    assert not GiftCard.objects.exclude(balance=Decimal("9.00")).filter(pk__in=[c.pk for c in cards]).exists()
    assert run_reconcile().ok
