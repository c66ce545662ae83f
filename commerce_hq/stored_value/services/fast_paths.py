"""The POS hot path in one constant SQL statement per call, on PostgreSQL.

``gift_card_lock_free`` locks a free, usable card; ``gift_card_redeem_held`` debits a card whose
lock the caller holds, clears the lock and appends the ledger entry. Each is a single statement:
atomic on its own, and the row lock it takes serialises it against every other writer of the card
exactly as ``select_for_update`` does (a concurrent change makes PostgreSQL re-check the WHERE
clause on the new row version). When the statement touches no row, or the input is anything but
the plain case, they return ``None`` and the caller runs the full path, which gives the exact
answer: the refusal with its details, the owner's replay, an expired lock taken over.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.utils import timezone

from commerce_hq import money
from commerce_hq.channels.models import Register
from commerce_hq.parameters.models import CommerceParameters

from ..locks import NUMBER
from ..models import GiftCard, Hold, LedgerEntry
from .common import Actor
from .records import ledger_values


def _table(model) -> str:
    return f'"{model._meta.db_table}"'


def _col(model, name: str) -> str:
    return f'"{model._meta.get_field(name).column}"'


def _columns(model, names) -> str:
    return ", ".join(_col(model, name) for name in names)


CARD_FIELDS = GiftCard._meta.concrete_fields
CARD_COLUMNS = ", ".join(f'card."{field.column}"' for field in CARD_FIELDS)
CARD_ATTNAMES = [field.attname for field in CARD_FIELDS]
HOLD_NAMES = ["gift_card", "register", "device", "transaction_id", "taken_at", "balance_shown", "end"]
C = {name: _col(GiftCard, name) for name in ("id", "number", "legal_entity", "balance", "currency", "status")}
C |= {name: _col(GiftCard, name) for name in ("expires_at", "lock_register", "lock_transaction_id", "locked_at")}
C["lock_expires_at"] = _col(GiftCard, "lock_expires_at")
NAMES = {
    "card": _table(GiftCard),
    "params": _table(CommerceParameters),
    "p_entity": _col(CommerceParameters, "legal_entity"),
    "p_timeout": _col(CommerceParameters, "gift_card_lock_timeout_minutes"),
    "hold": _table(Hold),
    "hold_columns": _columns(Hold, HOLD_NAMES),
    "h_card": _col(Hold, "gift_card"),
    "h_end": _col(Hold, "end"),
    "h_ended_at": _col(Hold, "ended_at"),
    "ledger": _table(LedgerEntry),
    "l_card": _col(LedgerEntry, "gift_card"),
    "l_register": _col(LedgerEntry, "register"),
    "l_transaction": _col(LedgerEntry, "transaction_id"),
    "l_operation": _col(LedgerEntry, "operation"),
    "returning": CARD_COLUMNS,
    **{f"c_{name}": column for name, column in C.items()},
}
# Where a card is usable: the rule ``rules.inactive_state`` in SQL (the differential test holds
# the two together).
USABLE = "card.{c_status} = %(active)s AND (card.{c_expires_at} IS NULL OR card.{c_expires_at} > %(now)s)"
UNLOCKED = "card.{c_lock_register} IS NULL AND card.{c_lock_transaction_id} = '' AND card.{c_locked_at} IS NULL"

# A timeout of 0 means none, as in ``rules.lock_expiry``. Without a parameters row nothing
# matches, so the full path creates the row on first use. The hold is inserted in the same
# statement.
LOCK_SQL = (
    """
WITH card AS (
    UPDATE {card} AS card
       SET {c_lock_register} = %(register)s, {c_lock_transaction_id} = %(transaction_id)s, {c_locked_at} = %(now)s,
           {c_lock_expires_at} = %(now)s + NULLIF(p.{p_timeout}, 0) * interval '1 minute'
      FROM {params} AS p
     WHERE card.{c_number} = %(number)s AND card.{c_legal_entity} = %(legal_entity)s AND """
    + UNLOCKED
    + " AND "
    + USABLE
    + """
       AND p.{p_entity} = card.{c_legal_entity}
    RETURNING {returning}
), hold AS (
    INSERT INTO {hold} ({hold_columns})
    SELECT card.{c_id}, %(register)s, %(device)s, %(transaction_id)s, %(now)s, card.{c_balance}, '' FROM card
)
SELECT * FROM card
"""
).format(**NAMES)


class _Blank:
    """Stands in for the card when listing the entry's fields: the statement takes the balance
    and currency from the updated row."""

    balance = currency = None


# The entry's columns, as the one constructor ``records.ledger_values`` lists them.
ENTRY_KEYS = list(ledger_values(_Blank, "", Decimal(0), Actor(), "").keys())
FROM_CARD = {"balance_after": "card.{c_balance}", "currency": "card.{c_currency}"}
NAMES["entry_columns"] = ", ".join(
    f'"{LedgerEntry._meta.get_field(k).column}"' for k in ["gift_card_id", *ENTRY_KEYS, "created_at"]
)
NAMES["entry_values"] = ", ".join(
    ["card.{c_id}", *(FROM_CARD.get(key, f"%({key})s") for key in ENTRY_KEYS), "%(now)s"]
).format(**NAMES)

REDEEM_SQL = (
    """
WITH card AS (
    UPDATE {card} AS card
       SET {c_balance} = card.{c_balance} - %(debit_by)s, {c_lock_register} = NULL, {c_lock_transaction_id} = '',
           {c_locked_at} = NULL, {c_lock_expires_at} = NULL
     WHERE card.{c_number} = %(number)s AND card.{c_legal_entity} = %(legal_entity)s
       AND card.{c_lock_register} = %(register)s AND card.{c_lock_transaction_id} = %(transaction_id)s
       AND card.{c_currency} = %(currency)s AND card.{c_balance} >= %(debit_by)s AND """
    + USABLE
    + """
       AND NOT EXISTS (SELECT 1 FROM {ledger} AS done
                        WHERE done.{l_card} = card.{c_id} AND done.{l_register} = %(register)s
                          AND done.{l_transaction} = %(transaction_id)s AND done.{l_operation} = %(redeem)s)
    RETURNING {returning}
), entry AS (
    INSERT INTO {ledger} ({entry_columns})
    SELECT {entry_values} FROM card
    RETURNING id
), ended AS (
    UPDATE {hold} SET {h_end} = %(redeemed)s, {h_ended_at} = %(now)s
     WHERE {h_card} IN (SELECT card.{c_id} FROM card) AND {h_ended_at} IS NULL
)
SELECT entry.id, card.* FROM card, entry
"""
).format(**NAMES)
ENUMS = {"active": GiftCard.Status.ACTIVE.value, "redeem": LedgerEntry.Operation.REDEEM.value}
ENUMS["redeemed"] = Hold.End.REDEEMED.value


def enabled() -> bool:
    return connection.vendor == "postgresql"


def _plain(*texts: str) -> bool:
    """Text bound as is: ASCII without NUL. Anything else takes the full path, which decides."""
    return all(text.isascii() and "\x00" not in text for text in texts)


def _card(row, register: Register) -> GiftCard:
    card = GiftCard.from_db(connection.alias, CARD_ATTNAMES, row)
    if card.lock_register_id == register.pk:
        card.lock_register = register
    return card


def gift_card_lock_free(
    *, number: str, register: Register, transaction_id: str, device_id: int | None = None
) -> GiftCard | None:
    """Lock an active, unexpired, unlocked card of the register's legal entity and record the
    hold; else ``None``."""
    if not (enabled() and NUMBER.fullmatch(number) and _plain(transaction_id)):
        return None
    params = {
        **ENUMS,
        "device": device_id,
        "register": register.pk,
        "transaction_id": transaction_id,
        "now": timezone.now(),
        "number": number,
        "legal_entity": register.channel.legal_entity_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(LOCK_SQL, params)
        row = cursor.fetchone()
    return None if row is None else _card(row, register)


def _valid_amount(amount: Decimal, currency: str) -> Decimal | None:
    try:
        return money.parse_amount(amount, currency)
    except money.MoneyError:
        return None


def gift_card_redeem_held(
    *, number: str, actor: Actor, transaction_id: str, amount: Decimal, currency: str
) -> tuple[GiftCard, LedgerEntry] | None:
    """Debit a card whose lock (``actor.register``, ``transaction_id``) holds, in its currency and
    within its balance, clear the lock and book the entry; else ``None``."""
    register = actor.register
    if not (enabled() and register is not None and NUMBER.fullmatch(number)):
        return None
    amount = _valid_amount(amount, currency)
    if amount is None or not _plain(transaction_id, actor.staff_id, actor.origin):
        return None
    now = timezone.now()
    values = ledger_values(_Blank, LedgerEntry.Operation.REDEEM, -amount, actor, transaction_id)
    params = {
        **ENUMS,
        **values,
        "debit_by": amount,
        "number": number,
        "legal_entity": register.channel.legal_entity_id,
        "register": register.pk,
        "transaction_id": transaction_id,
        "currency": currency,
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(REDEEM_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    card = _card(row[1:], register)
    return card, _entry(row[0], card, values, now)


def _entry(pk: int, card: GiftCard, values: dict, now) -> LedgerEntry:
    """The booked entry as ``LedgerEntry.objects.create`` would have returned it."""
    entry = LedgerEntry(
        pk=pk, gift_card=card, **{**values, "balance_after": card.balance, "currency": card.currency}, created_at=now
    )
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry
