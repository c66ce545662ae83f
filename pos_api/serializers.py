"""Output bodies shared by several operations: the gift card and credit memo bodies."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from commerce_hq.stored_value.models import CreditMemo, GiftCard, LockFields

from .fields import DECIMAL_STRING, TIMESTAMP, amount_text, rfc3339


@extend_schema_field(DECIMAL_STRING)
class MoneyOut(serializers.Field):
    """An amount written with the currency's decimals (the object's own ``currency``)."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        return getattr(instance, self.source), instance.currency

    def to_representation(self, value):
        amount, currency = value
        return amount_text(amount, currency)


@extend_schema_field(TIMESTAMP)
class TimestampOut(serializers.Field):
    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        return rfc3339(value)


class LockSerializer(serializers.Serializer):
    channel = serializers.CharField(help_text="Code of the store holding the lock.")
    register = serializers.CharField(help_text="Code of the register holding the lock.")
    transaction_id = serializers.CharField()
    locked_at = TimestampOut()
    expires_at = TimestampOut(allow_null=True)


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
        "locked_at": obj.locked_at,
        "expires_at": obj.lock_expires_at,
    }
    if isinstance(obj, CreditMemo):
        body["remainder_number"] = obj.lock_remainder_number
    return body


class GiftCardSerializer(serializers.Serializer):
    number = serializers.CharField()
    currency = serializers.CharField()
    balance = MoneyOut()
    status = serializers.ChoiceField(choices=GiftCard.Status.choices)
    expires_at = TimestampOut(allow_null=True)
    lock = serializers.SerializerMethodField()

    @extend_schema_field(LockSerializer(allow_null=True))
    def get_lock(self, card: GiftCard):
        body = lock_body(card, self.context.get("register"))
        return None if body is None else LockSerializer(body).data


class CreditMemoSerializer(serializers.Serializer):
    number = serializers.CharField()
    currency = serializers.CharField()
    amount = MoneyOut()
    status = serializers.ChoiceField(choices=CreditMemo.Status.choices)
    applied_amount = MoneyOut()
    remainder_of = serializers.SerializerMethodField(help_text="Number of the memo this one is the remainder of.")
    lock = serializers.SerializerMethodField()

    def get_remainder_of(self, memo: CreditMemo) -> str | None:
        return memo.remainder_of.number if memo.remainder_of_id else None

    @extend_schema_field(MemoLockSerializer(allow_null=True))
    def get_lock(self, memo: CreditMemo):
        body = lock_body(memo, self.context.get("register"))
        return None if body is None else MemoLockSerializer(body).data
