"""Gift card operations: one view per operation, each calling one service."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from commerce_hq.stored_value import services
from commerce_hq.stored_value.errors import CardNotFound

from ..fields import DECIMAL_STRING, MoneyInput, NumberField, StaffIdField, TransactionIdField, amount_text
from ..idempotency import idempotent
from ..schema import money_operation, problems
from ..selectors import gift_card_get
from ..serializers import GiftCardSerializer
from ..throttling import BalanceLookupThrottle
from .base import NumberView

TAG = ["gift cards"]


class TransactionInput(serializers.Serializer):
    transaction_id = TransactionIdField()
    staff_id = StaffIdField()


class MoneyMoveInput(MoneyInput, TransactionInput):
    pass


class CardEntryOutput(serializers.Serializer):
    card = GiftCardSerializer()
    entry_id = serializers.IntegerField(help_text="The ledger entry booked (or the first one, on a replay).")
    amount = serializers.CharField(help_text=f"Amount moved, e.g. {DECIMAL_STRING['example']}.")


class GiftCardView(NumberView):
    not_found = CardNotFound
    what = "gift card"

    def card_entry(self, card, entry) -> dict:
        """The ``CardEntryOutput`` body, written directly (no nested serializer built per call)."""
        return {
            "card": self.output(GiftCardSerializer, card),
            "entry_id": entry.pk,
            "amount": amount_text(abs(entry.amount), card.currency),
        }


class GiftCardIssueView(GiftCardView):
    @extend_schema_serializer(component_name="GiftCardIssue")
    class InputSerializer(MoneyMoveInput):
        number = NumberField(required=False, help_text="A scanned card number; generated when left out.")

    OutputSerializer = GiftCardSerializer

    @money_operation(
        "gift_card_issue",
        TAG,
        InputSerializer,
        (201, OutputSerializer),
        "invalid_amount",
        "card_exists",
        "currency_mismatch",
        "balance_limit_exceeded",
    )
    @idempotent
    def post(self, request):
        data = self.validated(self.InputSerializer)
        card, _ = services.gift_card_issue(
            channel=self.register.channel,
            actor=self.actor(data),
            transaction_id=data["transaction_id"],
            amount=data["amount"],
            currency=data["currency"],
            number=data.get("number"),
        )
        return Response(self.output(self.OutputSerializer, card), status=status.HTTP_201_CREATED)


class GiftCardBalanceView(GiftCardView):
    throttle_classes = [BalanceLookupThrottle]
    OutputSerializer = GiftCardSerializer

    @extend_schema(
        operation_id="gift_card_balance",
        tags=TAG,
        responses={200: OutputSerializer, **problems("card_not_found", "throttled", post=False)},
    )
    def get(self, request, number):
        card = gift_card_get(number=self.number(), legal_entity_id=self.register.channel.legal_entity_id)
        return Response(self.output(self.OutputSerializer, card))


class GiftCardLockView(GiftCardView):
    InputSerializer = TransactionInput
    OutputSerializer = GiftCardSerializer

    @money_operation(
        "gift_card_lock",
        TAG,
        InputSerializer,
        (200, OutputSerializer),
        "card_not_found",
        "card_locked",
        "card_inactive",
    )
    @idempotent
    def post(self, request, number):
        return self.lock(services.gift_card_lock)


class GiftCardUnlockView(GiftCardView):
    InputSerializer = TransactionInput
    OutputSerializer = GiftCardSerializer

    @money_operation(
        "gift_card_unlock", TAG, InputSerializer, (200, OutputSerializer), "card_not_found", "lock_not_held"
    )
    @idempotent
    def post(self, request, number):
        return self.lock_change(services.gift_card_unlock)


class GiftCardRedeemView(GiftCardView):
    InputSerializer = MoneyMoveInput
    OutputSerializer = CardEntryOutput

    @money_operation(
        "gift_card_redeem",
        TAG,
        InputSerializer,
        (200, OutputSerializer),
        "invalid_amount",
        "card_not_found",
        "card_locked",
        "already_redeemed",
        "insufficient_balance",
        "currency_mismatch",
        "card_inactive",
    )
    @idempotent
    def post(self, request, number):
        data = self.validated(self.InputSerializer)
        card, entry = services.gift_card_redeem(
            number=self.number(),
            actor=self.actor(data),
            transaction_id=data["transaction_id"],
            amount=data["amount"],
            currency=data["currency"],
        )
        return Response(self.card_entry(card, entry))


class GiftCardAddValueView(GiftCardView):
    InputSerializer = MoneyMoveInput
    OutputSerializer = CardEntryOutput

    @money_operation(
        "gift_card_add_value",
        TAG,
        InputSerializer,
        (200, OutputSerializer),
        "invalid_amount",
        "card_not_found",
        "card_locked",
        "currency_mismatch",
        "card_inactive",
        "balance_limit_exceeded",
    )
    @idempotent
    def post(self, request, number):
        data = self.validated(self.InputSerializer)
        card, entry = services.gift_card_add_value(
            number=self.number(),
            actor=self.actor(data),
            transaction_id=data["transaction_id"],
            amount=data["amount"],
            currency=data["currency"],
        )
        return Response(self.card_entry(card, entry))


class GiftCardCashOutView(GiftCardView):
    InputSerializer = TransactionInput
    OutputSerializer = CardEntryOutput

    @money_operation(
        "gift_card_cash_out",
        TAG,
        InputSerializer,
        (200, OutputSerializer),
        "card_not_found",
        "cash_out_not_allowed",
        "card_locked",
        "card_inactive",
    )
    @idempotent
    def post(self, request, number):
        data = self.validated(self.InputSerializer)
        card, entry = services.gift_card_cash_out(
            number=self.number(), actor=self.actor(data), transaction_id=data["transaction_id"]
        )
        return Response(self.card_entry(card, entry))
