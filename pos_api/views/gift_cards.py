"""Gift card operations: one view per operation, each calling one service."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from commerce_hq.stored_value import services
from commerce_hq.stored_value.errors import CardNotFound

from ..fields import DECIMAL_STRING, MoneyInput, NumberField, StaffIdField, TransactionIdField, amount_text
from ..idempotency import idempotent
from ..schema import IDEMPOTENCY_KEY, problems
from ..selectors import gift_card_get
from ..serializers import GiftCardSerializer
from ..throttling import BalanceLookupThrottle
from .base import PosAPIView, path_number

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


class GiftCardView(PosAPIView):
    def number(self) -> str:
        return path_number(self.kwargs["number"], CardNotFound, "gift card")

    def card_entry(self, card, entry) -> dict:
        """The ``CardEntryOutput`` body, written directly (no nested serializer built per call)."""
        return {
            "card": self.output(GiftCardSerializer, card),
            "entry_id": entry.pk,
            "amount": amount_text(abs(entry.amount), card.currency),
        }


def _schema(operation_id: str, request, response, *codes: str):
    return extend_schema(
        operation_id=operation_id,
        tags=TAG,
        request=request,
        parameters=[IDEMPOTENCY_KEY],
        responses={response[0]: response[1], **problems(*codes)},
    )


class GiftCardIssueView(GiftCardView):
    @extend_schema_serializer(component_name="GiftCardIssue")
    class InputSerializer(MoneyMoveInput):
        number = NumberField(required=False, help_text="A scanned card number; generated when left out.")

    OutputSerializer = GiftCardSerializer

    @_schema(
        "gift_card_issue",
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

    @_schema(
        "gift_card_lock", InputSerializer, (200, OutputSerializer), "card_not_found", "card_locked", "card_inactive"
    )
    @idempotent
    def post(self, request, number):
        data = self.validated(self.InputSerializer)
        card = services.gift_card_lock(
            number=self.number(), register=self.register, transaction_id=data["transaction_id"]
        )
        return Response(self.output(self.OutputSerializer, card))


class GiftCardUnlockView(GiftCardView):
    InputSerializer = TransactionInput
    OutputSerializer = GiftCardSerializer

    @_schema("gift_card_unlock", InputSerializer, (200, OutputSerializer), "card_not_found", "lock_not_held")
    @idempotent
    def post(self, request, number):
        data = self.validated(self.InputSerializer)
        card = services.gift_card_unlock(
            number=self.number(), register=self.register, transaction_id=data["transaction_id"]
        )
        return Response(self.output(self.OutputSerializer, card))


class GiftCardRedeemView(GiftCardView):
    InputSerializer = MoneyMoveInput
    OutputSerializer = CardEntryOutput

    @_schema(
        "gift_card_redeem",
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

    @_schema(
        "gift_card_add_value",
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

    @_schema(
        "gift_card_cash_out",
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
