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

from ..locks import NUMBER
from ..models import GiftCard, LedgerEntry
from .common import Actor

CARD_FIELDS = GiftCard._meta.concrete_fields
CARD_COLUMNS = ", ".join(f"card.{field.column}" for field in CARD_FIELDS)
CARD_ATTNAMES = [field.attname for field in CARD_FIELDS]

# A timeout of 0 means none, as in ``set_lock``. Without a parameters row nothing matches, so the
# full path creates the row on first use.
LOCK_SQL = f"""
UPDATE stored_value_giftcard AS card
   SET lock_register_id = %(register)s, lock_transaction_id = %(transaction_id)s, locked_at = %(now)s,
       lock_expires_at = %(now)s + NULLIF(p.gift_card_lock_timeout_minutes, 0) * interval '1 minute'
  FROM parameters_commerceparameters AS p
 WHERE card.number = %(number)s AND card.legal_entity_id = %(legal_entity)s
   AND card.lock_register_id IS NULL AND card.status = 'active'
   AND (card.expires_at IS NULL OR card.expires_at > %(now)s)
   AND p.legal_entity_id = card.legal_entity_id
RETURNING {CARD_COLUMNS}
"""

REDEEM_SQL = f"""
WITH card AS (
    UPDATE stored_value_giftcard AS card
       SET balance = card.balance - %(amount)s, lock_register_id = NULL, lock_transaction_id = '',
           locked_at = NULL, lock_expires_at = NULL
     WHERE card.number = %(number)s AND card.legal_entity_id = %(legal_entity)s
       AND card.lock_register_id = %(register)s AND card.lock_transaction_id = %(transaction_id)s
       AND card.currency = %(currency)s AND card.balance >= %(amount)s AND card.status = 'active'
       AND (card.expires_at IS NULL OR card.expires_at > %(now)s)
       AND NOT EXISTS (SELECT 1 FROM stored_value_ledgerentry AS done
                        WHERE done.gift_card_id = card.id AND done.register_id = %(register)s
                          AND done.transaction_id = %(transaction_id)s AND done.operation = 'redeem')
    RETURNING {CARD_COLUMNS}
), entry AS (
    INSERT INTO stored_value_ledgerentry (gift_card_id, operation, amount, balance_after, currency, channel_id,
                                          register_id, staff_id, transaction_id, origin, created_by_id, note,
                                          created_at)
    SELECT card.id, 'redeem', %(debit)s, card.balance, card.currency, %(channel)s, %(register)s, %(staff_id)s,
           %(transaction_id)s, %(origin)s, %(created_by)s, '', %(now)s
      FROM card
    RETURNING id
)
SELECT entry.id, {CARD_COLUMNS} FROM card, entry
"""


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


def gift_card_lock_free(*, number: str, register: Register, transaction_id: str) -> GiftCard | None:
    """Lock an active, unexpired, unlocked card of the register's legal entity; else ``None``."""
    if not (enabled() and NUMBER.fullmatch(number) and _plain(transaction_id)):
        return None
    params = {
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
    fields = actor.entry_fields(transaction_id)
    if amount is None or not _plain(transaction_id, fields["staff_id"], actor.origin):
        return None
    now = timezone.now()
    params = {
        "amount": amount,
        "debit": -amount,
        "number": number,
        "legal_entity": register.channel.legal_entity_id,
        "register": register.pk,
        "transaction_id": transaction_id,
        "currency": currency,
        "now": now,
        "channel": getattr(fields["channel"], "pk", None),
        "staff_id": fields["staff_id"],
        "origin": actor.origin,
        "created_by": getattr(fields["created_by"], "pk", None),
    }
    with connection.cursor() as cursor:
        cursor.execute(REDEEM_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    card = _card(row[1:], register)
    return card, _entry(row[0], card, -amount, fields, now)


def _entry(pk: int, card: GiftCard, amount: Decimal, fields: dict, now) -> LedgerEntry:
    """The booked entry as ``LedgerEntry.objects.create`` would have returned it."""
    entry = LedgerEntry(
        pk=pk,
        gift_card=card,
        operation=LedgerEntry.Operation.REDEEM,
        amount=amount,
        balance_after=card.balance,
        currency=card.currency,
        note="",
        created_at=now,
        **fields,
    )
    entry._state.adding = False
    entry._state.db = connection.alias
    return entry
