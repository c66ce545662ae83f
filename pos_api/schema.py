"""OpenAPI pieces shared by every operation: the Bearer scheme, the problem body, the
``Idempotency-Key`` header and the error responses each operation can answer."""

from __future__ import annotations

from collections import defaultdict

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from .fields import TIMESTAMP
from .problems import PROBLEM_CONTENT_TYPE

STATUS = {
    "invalid_request": 400,
    "invalid_amount": 400,
    "invalid_upload": 400,
    "invalid_activation_code": 400,
    "parse_error": 400,
    "not_authenticated": 401,
    "card_not_found": 404,
    "memo_not_found": 404,
    "not_found": 404,
    "method_not_allowed": 405,
    "card_exists": 409,
    "card_locked": 409,
    "memo_locked": 409,
    "lock_not_held": 409,
    "already_redeemed": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "idempotency_key_reused": 422,
    "card_inactive": 422,
    "memo_not_open": 422,
    "insufficient_balance": 422,
    "amount_exceeds_memo": 422,
    "currency_mismatch": 422,
    "balance_limit_exceeded": 422,
    "cash_out_not_allowed": 422,
    "throttled": 429,
}
POST_CODES = ("invalid_request", "parse_error", "payload_too_large", "unsupported_media_type")
IDEMPOTENT_CODES = ("idempotency_key_reused",)
DEVICE_CODES = ("not_authenticated",)


class DeviceTokenScheme(OpenApiAuthenticationExtension):
    target_class = "pos_api.authentication.DeviceTokenAuthentication"
    name = "deviceToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "The device token from devices/activate."}


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField()
    detail = serializers.CharField()
    index = serializers.IntegerField(required=False, help_text="Item of an upload batch.")


class ProblemLockSerializer(serializers.Serializer):
    channel = serializers.CharField()
    register = serializers.CharField()
    locked_at = serializers.DateTimeField(help_text=TIMESTAMP["example"])


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; clients branch on ``code``."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    code = serializers.CharField()
    detail = serializers.CharField()
    errors = ProblemErrorSerializer(many=True, required=False, help_text="400 validation errors.")
    lock = ProblemLockSerializer(required=False, help_text="card_locked / memo_locked: who holds the lock.")


IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="1–128 characters. The same key with the same body replays the first 2xx response "
    "(header Idempotent-Replayed: true); with another body → 422 idempotency_key_reused.",
)


def problems(*codes: str, post: bool = True, device: bool = True) -> dict:
    """``responses`` entries (``application/problem+json``) for the given error codes, plus those of
    every POST (an idempotent one when the caller is a device) and of device authentication."""
    everything = [*codes, *(POST_CODES if post else ()), *(IDEMPOTENT_CODES if post and device else ())]
    everything += DEVICE_CODES if device else ()
    by_status = defaultdict(list)
    for code in dict.fromkeys(everything):
        by_status[STATUS[code]].append(code)
    return {
        (status, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, description=", ".join(found))
        for status, found in sorted(by_status.items())
    }


def money_operation(operation_id: str, tags: list[str], request, response: tuple, *codes: str):
    """``extend_schema`` for an idempotent POST on a card or memo: ``response`` is
    ``(status, serializer)``, ``codes`` the domain errors it can answer."""
    status, serializer = response
    return extend_schema(
        operation_id=operation_id,
        tags=tags,
        request=request,
        parameters=[IDEMPOTENCY_KEY],
        responses={status: serializer, **problems(*codes)},
    )
