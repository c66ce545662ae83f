"""Offline upload bodies. The whole batch is validated before anything is stored; every error
names its transaction ``index`` (the problem handler adds it from the path)."""

from __future__ import annotations

import re
from datetime import datetime

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from ..fields import (
    TIMESTAMP,
    AmountField,
    CurrencyField,
    NumberField,
    StaffIdField,
    StrictCharField,
    TransactionIdField,
    check_decimals,
)

MAX_TRANSACTIONS = 1000
MAX_OPERATIONS = 200
REDEEMS = ("gift_card.redeem", "credit_memo.redeem")
OPERATION_TYPES = (*REDEEMS, "gift_card.unlock", "credit_memo.unlock")
RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE)


class UploadAmountField(AmountField):
    """An amount inside an upload: its errors are ``invalid_upload`` like the rest of the batch."""

    def fail(self, key, **kwargs):
        serializers.Field.fail(self, key, **kwargs)


@extend_schema_field(TIMESTAMP)
class RFC3339Field(StrictCharField):
    default_error_messages = {"invalid": "An RFC 3339 timestamp with a time zone, e.g. 2026-11-23T10:05:00Z."}

    def to_internal_value(self, data) -> datetime:
        match = RFC3339.match(super().to_internal_value(data))
        if match is None:
            self.fail("invalid")
        moment, fraction, zone = match.groups()
        zone = "+00:00" if zone.upper() == "Z" else zone
        try:
            return datetime.fromisoformat(f"{moment}.{(fraction or '')[:6]:0<6}{zone}")
        except ValueError:
            self.fail("invalid")


class OperationSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=OPERATION_TYPES)
    number = NumberField()
    amount = UploadAmountField(required=False, help_text='Redeems only: decimal string, e.g. "12.50".')
    currency = CurrencyField(required=False)
    remainder_number = NumberField(required=False, help_text="credit_memo.redeem only: the remainder memo printed.")

    def validate(self, attrs):
        if attrs["type"] in REDEEMS:
            missing = {name: "Required for a redeem." for name in ("amount", "currency") if name not in attrs}
            if missing:
                raise serializers.ValidationError(missing)
            check_decimals(attrs["amount"], attrs["currency"])
        if "remainder_number" in attrs and attrs["type"] != "credit_memo.redeem":
            raise serializers.ValidationError({"remainder_number": "Only on credit_memo.redeem."})
        return attrs


class OfflineTransactionSerializer(serializers.Serializer):
    transaction_id = TransactionIdField()
    concluded_at = RFC3339Field()
    staff_id = StaffIdField()
    operations = OperationSerializer(many=True, allow_empty=False, max_length=MAX_OPERATIONS)

    def validate_operations(self, operations):
        redeemed = [op["number"] for op in operations if op["type"] in REDEEMS]
        if len(redeemed) != len(set(redeemed)):
            raise serializers.ValidationError("A transaction redeems each card or memo at most once.")
        return operations


@extend_schema_serializer(component_name="OfflineUpload")
class UploadSerializer(serializers.Serializer):
    transactions = OfflineTransactionSerializer(many=True, allow_empty=False, max_length=MAX_TRANSACTIONS)

    def to_internal_value(self, data):
        """Field errors and repeated transaction ids are reported together, per index."""
        repeated = _repeated_ids(data)
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            raise serializers.ValidationError(_with_repeats(exc.detail, repeated)) from None
        if repeated:
            raise serializers.ValidationError(
                _with_repeats({"transactions": [{}] * len(value["transactions"])}, repeated)
            )
        return value


def _repeated_ids(data) -> list[int]:
    """Indexes whose ``transaction_id`` already appeared earlier in the batch."""
    items = data.get("transactions") if isinstance(data, dict) else None
    seen, repeated = set(), []
    for index, item in enumerate(items if isinstance(items, list) else []):
        transaction_id = item.get("transaction_id") if isinstance(item, dict) else None
        if isinstance(transaction_id, str) and transaction_id in seen:
            repeated.append(index)
        seen.add(transaction_id)
    return repeated


def _with_repeats(detail: dict, repeated: list[int]) -> dict:
    """Add the repeated-id error to each repeated index of ``detail["transactions"]`` (DRF keys
    item errors by index in a dict)."""
    items = detail.get("transactions", {})
    if not repeated or not isinstance(items, dict):
        return detail
    items = {index: dict(error) for index, error in items.items()}
    for index in repeated:
        items.setdefault(index, {}).setdefault("transaction_id", ["Appears more than once in this upload."])
    return {**detail, "transactions": dict(sorted(items.items()))}


@extend_schema_serializer(component_name="OfflineUploadResult")
class UploadResultSerializer(serializers.Serializer):
    accepted = serializers.ListField(child=serializers.CharField(), help_text="Stored now; P-0001 applies them.")
    duplicates = serializers.ListField(child=serializers.CharField(), help_text="Seen before, same content: no change.")
    conflicts = serializers.ListField(
        child=serializers.CharField(), help_text="Seen before with other content: kept and flagged, never overwritten."
    )


class ExceptionSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()


@extend_schema_serializer(component_name="OfflineTransactionStatus")
class OfflineTransactionStatusSerializer(serializers.Serializer):
    transaction_id = serializers.CharField()
    status = serializers.CharField(help_text="pending | applied | exception")
    received_at = serializers.CharField(help_text=TIMESTAMP["example"])
    applied_at = serializers.CharField(allow_null=True, help_text=TIMESTAMP["example"])
    exceptions = ExceptionSerializer(many=True)
    conflicts = serializers.IntegerField(help_text="Re-uploads with other content, kept and flagged.")
