"""Output bodies shared by several operations: the gift card and credit memo bodies.

They sit on every money call's hot path, so ``to_representation`` writes the body directly
instead of walking (and deep-copying) one field object per attribute; the declared fields
document the same body in the OpenAPI schema.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerce_hq.stored_value.models import CreditMemo, GiftCard, LockFields

from .fields import DECIMAL_STRING, TIMESTAMP, amount_text, rfc3339


@extend_schema_field(DECIMAL_STRING)
class DecimalString(serializers.CharField):
    """An amount written with the currency's decimals, e.g. ``"12.50"``."""


@extend_schema_field(TIMESTAMP)
class Timestamp(serializers.CharField):
    """RFC 3339 UTC, e.g. ``"2026-11-23T10:00:00Z"``."""


class LockSerializer(serializers.Serializer):
    channel = serializers.CharField(help_text="Code of the store holding the lock.")
    register = serializers.CharField(help_text="Code of the register holding the lock.")
    transaction_id = serializers.CharField()
    locked_at = Timestamp()
    expires_at = Timestamp(allow_null=True)


class MemoLockSerializer(LockSerializer):
    remainder_number = serializers.CharField(help_text="Number reserved for the remainder memo.")


def lock_body(obj: LockFields, register=None) -> dict | None:
    """The lock as the API shows it; ``register`` (the caller's) saves a query when it is the owner."""
    if not obj.is_locked:
        return None
    owner = register if register is not None and register.pk == obj.lock_register_id else obj.lock_register
    body = {
        "channel": owner.channel.code,
        "register": owner.code,
        "transaction_id": obj.lock_transaction_id,
        "locked_at": rfc3339(obj.locked_at),
        "expires_at": rfc3339(obj.lock_expires_at),
    }
    if isinstance(obj, CreditMemo):
        body["remainder_number"] = obj.lock_remainder_number
    return body


class GiftCardSerializer(serializers.Serializer):
    number = serializers.CharField()
    currency = serializers.CharField()
    balance = DecimalString()
    status = serializers.ChoiceField(choices=GiftCard.Status.choices)
    expires_at = Timestamp(allow_null=True)
    lock = LockSerializer(allow_null=True)

    def to_representation(self, card: GiftCard) -> dict:
        return {
            "number": card.number,
            "currency": card.currency,
            "balance": amount_text(card.balance, card.currency),
            "status": card.status,
            "expires_at": rfc3339(card.expires_at),
            "lock": lock_body(card, self.context.get("register")),
        }


class CreditMemoSerializer(serializers.Serializer):
    number = serializers.CharField()
    currency = serializers.CharField()
    amount = DecimalString()
    status = serializers.ChoiceField(choices=CreditMemo.Status.choices)
    applied_amount = DecimalString()
    remainder_of = serializers.CharField(allow_null=True, help_text="Number of the memo this is the remainder of.")
    lock = MemoLockSerializer(allow_null=True)

    def to_representation(self, memo: CreditMemo) -> dict:
        return {
            "number": memo.number,
            "currency": memo.currency,
            "amount": amount_text(memo.amount, memo.currency),
            "status": memo.status,
            "applied_amount": amount_text(memo.applied_amount, memo.currency),
            "remainder_of": memo.remainder_of.number if memo.remainder_of_id else None,
            "lock": lock_body(memo, self.context.get("register")),
        }
