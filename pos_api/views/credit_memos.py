"""Credit memo operations: one view per operation, each calling one service."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from commerce_hq.stored_value import services
from commerce_hq.stored_value.errors import MemoNotFound

from ..fields import DECIMAL_STRING, amount_text
from ..idempotency import idempotent
from ..schema import money_operation, problems
from ..selectors import credit_memo_get
from ..serializers import CreditMemoSerializer
from ..throttling import BalanceLookupThrottle
from .base import NumberView
from .gift_cards import MoneyMoveInput, TransactionInput

TAG = ["credit memos"]


class CreditMemoView(NumberView):
    not_found = MemoNotFound
    what = "credit memo"


class CreditMemoIssueView(CreditMemoView):
    InputSerializer = MoneyMoveInput
    OutputSerializer = CreditMemoSerializer

    @money_operation(
        "credit_memo_issue", TAG, InputSerializer, (201, OutputSerializer), "invalid_amount", "currency_mismatch"
    )
    @idempotent
    def post(self, request):
        data = self.validated(self.InputSerializer)
        memo, _ = services.credit_memo_issue(
            channel=self.register.channel,
            actor=self.actor(data),
            transaction_id=data["transaction_id"],
            amount=data["amount"],
            currency=data["currency"],
        )
        return Response(self.output(self.OutputSerializer, memo), status=status.HTTP_201_CREATED)


class CreditMemoGetView(CreditMemoView):
    throttle_classes = [BalanceLookupThrottle]
    OutputSerializer = CreditMemoSerializer

    @extend_schema(
        operation_id="credit_memo_get",
        tags=TAG,
        responses={200: OutputSerializer, **problems("memo_not_found", "throttled", post=False)},
    )
    def get(self, request, number):
        memo = credit_memo_get(number=self.number(), legal_entity_id=self.register.channel.legal_entity_id)
        return Response(self.output(self.OutputSerializer, memo))


class CreditMemoLockView(CreditMemoView):
    InputSerializer = TransactionInput
    OutputSerializer = CreditMemoSerializer

    @money_operation(
        "credit_memo_lock",
        TAG,
        InputSerializer,
        (200, OutputSerializer),
        "memo_not_found",
        "memo_locked",
        "memo_not_open",
    )
    @idempotent
    def post(self, request, number):
        return self.lock(services.credit_memo_lock)


class CreditMemoUnlockView(CreditMemoView):
    InputSerializer = TransactionInput
    OutputSerializer = CreditMemoSerializer

    @money_operation(
        "credit_memo_unlock", TAG, InputSerializer, (200, OutputSerializer), "memo_not_found", "lock_not_held"
    )
    @idempotent
    def post(self, request, number):
        return self.lock_change(services.credit_memo_unlock)


class CreditMemoRedeemView(CreditMemoView):
    InputSerializer = MoneyMoveInput

    @extend_schema_serializer(component_name="CreditMemoRedemption")
    class OutputSerializer(serializers.Serializer):
        memo = CreditMemoSerializer()
        applied_amount = serializers.CharField(help_text=f"Amount applied, e.g. {DECIMAL_STRING['example']}.")
        remainder = CreditMemoSerializer(allow_null=True, help_text="The new memo for what was left, if any.")

    @money_operation(
        "credit_memo_redeem",
        TAG,
        InputSerializer,
        (200, OutputSerializer),
        "invalid_amount",
        "memo_not_found",
        "memo_locked",
        "already_redeemed",
        "amount_exceeds_memo",
        "memo_not_open",
        "currency_mismatch",
    )
    @idempotent
    def post(self, request, number):
        data = self.validated(self.InputSerializer)
        memo, remainder = services.credit_memo_redeem(
            number=self.number(),
            actor=self.actor(data),
            transaction_id=data["transaction_id"],
            amount=data["amount"],
            currency=data["currency"],
        )
        body = {"memo": memo, "applied_amount": amount_text(memo.applied_amount, memo.currency), "remainder": remainder}
        return Response(self.output(self.OutputSerializer, body))
