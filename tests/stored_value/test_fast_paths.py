"""The one-statement lock and redeem on PostgreSQL give what the full ORM path gives: the same rows,
the same returned objects, the same refusals; and racing registers still never overspend."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from commerce_hq.parameters.models import CommerceParameters, ParameterVersion
from commerce_hq.parameters.services import parameters_update
from commerce_hq.reconcile import run_reconcile
from commerce_hq.stored_value import errors, services
from commerce_hq.stored_value.models import AuditEvent, GiftCard, LedgerEntry
from commerce_hq.stored_value.services import Actor, fast_paths
from tests.factories import ChannelFactory, LegalEntityFactory, RegisterFactory, issue_card
from tests.stored_value.test_races import RACERS, race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ENTRY_FIELDS = [
    "operation",
    "amount",
    "balance_after",
    "currency",
    "channel_id",
    "register_id",
    "staff_id",
    "transaction_id",
    "origin",
    "note",
    "created_by_id",
]


@pytest.fixture
def foreign_register(db):
    """A register of another legal entity."""
    entity = LegalEntityFactory(code="OTHER", name="Other Retail")
    return RegisterFactory(channel=ChannelFactory(legal_entity=entity, code="S9"), code="R9")


def row(obj) -> dict:
    return {field.attname: getattr(obj, field.attname) for field in type(obj)._meta.concrete_fields}


def lock(card, register, txn="T1"):
    return services.gift_card_lock(number=card.number, register=register, transaction_id=txn)


def redeem(card, register, amount="10.00", txn="T1", currency="USD", staff_id=""):
    return services.gift_card_redeem(
        number=card.number,
        actor=Actor.pos(register, staff_id=staff_id),
        transaction_id=txn,
        amount=Decimal(amount),
        currency=currency,
    )


def both(monkeypatch, run):
    """``run()`` on the fast path, then on the full ORM path (as SQLite runs it)."""
    fast = run()
    with monkeypatch.context() as patch:
        patch.setattr(fast_paths, "enabled", lambda: False)
        full = run()
    return fast, full


def shape(value):
    """Times (which differ between two runs) reduced to their presence."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    return "a time" if isinstance(value, datetime) else value


def state(card) -> tuple:
    """What a call left behind: the card's row and its ledger and audit trail."""
    card = GiftCard.objects.select_related("lock_register").get(pk=card.pk)
    owner = card.lock_register.code if card.lock_register else None
    entries = [(e.operation, e.amount, e.transaction_id) for e in LedgerEntry.objects.filter(gift_card=card)]
    audit = list(AuditEvent.objects.filter(gift_card=card).values_list("action", flat=True))
    return card.balance, card.status, owner, card.lock_transaction_id, entries, audit


def code(result: tuple) -> str:
    answer, _ = result
    return answer[0] if answer[0] == "ok" else answer[1]


def outcome(setup, act) -> tuple:
    card = setup()
    try:
        result = act(card)
        answer = ("ok", type(result).__name__)
    except errors.StoredValueError as exc:
        answer = (type(exc).__name__, exc.code, shape(exc.extra))
    return answer, state(card)


@pytest.mark.parametrize(("timeout", "minutes"), [(None, None), (0, None), (15, 15)])
def test_lock_is_one_statement_setting_what_the_full_path_sets(
    register, monkeypatch, django_assert_num_queries, timeout, minutes
):
    # given a timeout (0, which the admin cannot set, means none, as in the full path)
    fast_card, full_card = issue_card(register), issue_card(register)
    CommerceParameters.objects.filter(legal_entity=register.channel.legal_entity).update(
        gift_card_lock_timeout_minutes=timeout
    )

    # when
    with django_assert_num_queries(1):
        fast = lock(fast_card, register)
    with monkeypatch.context() as patch:
        patch.setattr(fast_paths, "enabled", lambda: False)
        full = lock(full_card, register)

    # then both return their row as stored, with the same lock
    for returned in (fast, full):
        assert row(returned) == row(GiftCard.objects.get(pk=returned.pk))
        assert (returned.lock_register, returned.lock_transaction_id) == (register, "T1")
        assert abs(returned.locked_at - timezone.now()) < timedelta(minutes=1)
        expiry = None if returned.lock_expires_at is None else returned.lock_expires_at - returned.locked_at
        assert expiry == (minutes and timedelta(minutes=minutes))
    assert state(fast)[1:] == state(full)[1:]


def test_lock_without_a_parameters_row_takes_the_full_path_which_creates_it(register):
    # given an entity that never had its parameters saved
    card = issue_card(register)
    ParameterVersion.objects.filter(legal_entity=register.channel.legal_entity).delete()
    CommerceParameters.objects.filter(legal_entity=register.channel.legal_entity).delete()

    # when / then: the statement matches nothing, the full path locks and creates the row
    assert fast_paths.gift_card_lock_free(number=card.number, register=register, transaction_id="T1") is None
    assert lock(card, register).lock_register == register
    assert CommerceParameters.objects.filter(legal_entity=register.channel.legal_entity).exists()


def test_redeem_of_a_held_lock_is_one_statement_booking_what_the_full_path_books(
    register, monkeypatch, django_assert_num_queries
):
    # given two cards, each locked with a timeout
    parameters_update(legal_entity=register.channel.legal_entity, changes={"gift_card.lock_timeout_minutes": "30"})
    fast_card, full_card = _held(register)(), _held(register)()

    # when one is redeemed on the fast path, the other on the full path
    with django_assert_num_queries(1):
        fast_card, fast_entry = redeem(fast_card, register, "12.34", staff_id="S42")
    with monkeypatch.context() as patch:
        patch.setattr(fast_paths, "enabled", lambda: False)
        full_card, full_entry = redeem(full_card, register, "12.34", staff_id="S42")

    # then the entries agree field by field, and each call returned its rows as stored
    stored = {entry.pk: LedgerEntry.objects.get(pk=entry.pk) for entry in (fast_entry, full_entry)}
    assert [getattr(stored[fast_entry.pk], f) for f in ENTRY_FIELDS] == [
        getattr(stored[full_entry.pk], f) for f in ENTRY_FIELDS
    ]
    assert [getattr(fast_entry, f) for f in ENTRY_FIELDS] == [
        "redeem",
        Decimal("-12.34"),
        Decimal("87.66"),
        "USD",
        register.channel_id,
        register.pk,
        "S42",
        "T1",
        "online",
        "",
        None,
    ]
    for card, entry in ((fast_card, fast_entry), (full_card, full_entry)):
        assert row(entry) == row(stored[entry.pk])
        assert row(card) == row(GiftCard.objects.get(pk=card.pk))
        assert (card.balance, card.lock_register_id, card.locked_at, card.lock_expires_at) == (
            Decimal("87.66"),
            None,
            None,
            None,
        )
    assert state(fast_card)[1:4] == state(full_card)[1:4]
    assert run_reconcile().ok


def _free(register):
    return lambda: issue_card(register)


def _locked_elsewhere(register, other, txn="T9"):
    def setup():
        card = issue_card(register)
        lock(card, other, txn)
        return card

    return setup


def _held(register, amount="100.00"):
    def setup():
        card = issue_card(register, amount)
        lock(card, register)
        return card

    return setup


def _blocked(setup):
    def blocked():
        card = setup()
        services.gift_card_set_blocked(number=card.number, blocked=True)
        return card

    return blocked


def _expired(setup):
    def expired():
        card = setup()
        GiftCard.objects.filter(pk=card.pk).update(expires_at=timezone.now() - timedelta(days=1))
        return card

    return expired


def _lock_expired(register, other):
    def setup():
        card = _locked_elsewhere(register, other)()
        GiftCard.objects.filter(pk=card.pk).update(lock_expires_at=timezone.now() - timedelta(seconds=1))
        return card

    return setup


def _redeemed(register):
    def setup():
        card = _held(register)()
        redeem(card, register)
        return card

    return setup


def lock_cases(register, other, foreign):
    free = _free(register)
    return {
        "free": (free, lambda card: lock(card, register)),
        "locked elsewhere": (_locked_elsewhere(register, other), lambda card: lock(card, register)),
        "blocked": (_blocked(free), lambda card: lock(card, register)),
        "expired card": (_expired(free), lambda card: lock(card, register)),
        "other legal entity": (_free(foreign), lambda card: lock(card, register)),
        "owner replay": (_held(register), lambda card: lock(card, register)),
        "expired lock taken over": (_lock_expired(register, other), lambda card: lock(card, register)),
        "malformed number": (
            free,
            lambda card: services.gift_card_lock(number=card.number + "!", register=register, transaction_id="T1"),
        ),
    }


def redeem_cases(register, other, foreign):
    return {
        "held": (_held(register), lambda card: redeem(card, register)),
        "insufficient": (_held(register, "5.00"), lambda card: redeem(card, register)),
        "other currency": (_held(register), lambda card: redeem(card, register, currency="EUR")),
        "locked elsewhere": (_locked_elsewhere(register, other), lambda card: redeem(card, register)),
        "locked elsewhere, same transaction id": (
            _locked_elsewhere(register, other, "T1"),
            lambda card: redeem(card, register),
        ),
        "blocked while held": (_blocked(_held(register)), lambda card: redeem(card, register)),
        "expired while held": (_expired(_held(register)), lambda card: redeem(card, register)),
        "replay": (_redeemed(register), lambda card: redeem(card, register)),
        "replay with another amount": (_redeemed(register), lambda card: redeem(card, register, "9.00")),
        "other transaction": (_held(register), lambda card: redeem(card, register, txn="T2")),
        "unlocked card": (_free(register), lambda card: redeem(card, register)),
        "other legal entity": (_free(foreign), lambda card: redeem(card, register)),
        "bad amount on another entity's card": (_free(foreign), lambda card: redeem(card, register, "0")),
        "too many decimals": (_held(register), lambda card: redeem(card, register, "1.001")),
    }


LOCK_ANSWERS = {
    "free": "ok",
    "locked elsewhere": "card_locked",
    "blocked": "card_inactive",
    "expired card": "card_inactive",
    "other legal entity": "card_not_found",
    "owner replay": "ok",
    "expired lock taken over": "ok",
    "malformed number": "card_not_found",
}

REDEEM_ANSWERS = {
    "held": "ok",
    "insufficient": "insufficient_balance",
    "other currency": "currency_mismatch",
    "locked elsewhere": "card_locked",
    "locked elsewhere, same transaction id": "card_locked",
    "blocked while held": "card_inactive",
    "expired while held": "card_inactive",
    "replay": "ok",
    "replay with another amount": "already_redeemed",
    "other transaction": "card_locked",
    "unlocked card": "ok",
    "other legal entity": "card_not_found",
    "bad amount on another entity's card": "card_not_found",
    "too many decimals": "invalid_amount",
}


@pytest.mark.parametrize("case", LOCK_ANSWERS)
def test_lock_answers_and_leaves_what_the_full_path_does(register, other_register, foreign_register, monkeypatch, case):
    setup, act = lock_cases(register, other_register, foreign_register)[case]
    fast, full = both(monkeypatch, lambda: outcome(setup, act))
    assert fast == full
    assert code(fast) == LOCK_ANSWERS[case]


@pytest.mark.parametrize("case", REDEEM_ANSWERS)
def test_redeem_answers_and_leaves_what_the_full_path_does(
    register, other_register, foreign_register, monkeypatch, case
):
    setup, act = redeem_cases(register, other_register, foreign_register)[case]
    fast, full = both(monkeypatch, lambda: outcome(setup, act))
    assert fast == full
    assert code(fast) == REDEEM_ANSWERS[case]


def test_a_taken_over_lock_is_audited_and_a_refusal_names_the_owner(register, other_register):
    taken = _lock_expired(register, other_register)()
    assert lock(taken, register).lock_register == register
    assert state(taken)[5] == [AuditEvent.Action.LOCK_EXPIRED]
    busy = _locked_elsewhere(register, other_register)()
    with pytest.raises(errors.CardLocked) as refused:
        redeem(busy, register)
    assert (refused.value.extra["lock"]["register"], refused.value.extra["lock"]["channel"]) == ("REG2", "STORE1")


@pytest.mark.django_db(transaction=True)
def test_sixteen_registers_cycling_lock_and_redeem_never_overspend(channel):
    # given a card that covers 20 of the 0.05 redemptions
    registers = [RegisterFactory(channel=channel, code=f"R{i:02}") for i in range(RACERS)]
    card = issue_card(registers[0], "1.00")

    # when 16 registers each try five lock → redeem cycles on it at once
    def cycles(i):
        done = 0
        for n in range(5):
            try:
                lock(card, registers[i], f"T{i}-{n}")
                redeem(card, registers[i], "0.05", f"T{i}-{n}")
                done += 1
            except (errors.CardLocked, errors.InsufficientBalance):
                continue
        return done

    done = sum(race(cycles))

    # then every redemption is booked once and the balance agrees with the ledger
    balance = GiftCard.objects.get(pk=card.pk).balance
    assert 0 < done <= 20
    assert balance == Decimal("1.00") - Decimal("0.05") * done >= 0
    assert LedgerEntry.objects.filter(gift_card=card, operation="redeem").count() == done
    assert run_reconcile().ok
