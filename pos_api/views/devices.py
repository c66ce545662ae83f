"""Devices and status: activation, the connectivity probe and the distributed parameters."""

from __future__ import annotations

import hashlib
import json

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from commerce_hq.channels.services import device_activate, device_record_parameters
from pos_api.channel_db.selectors import channel_parameters_current

from ..fields import DECIMAL_STRING, TIMESTAMP, StrictCharField, rfc3339
from ..schema import problems
from .base import PosAPIView, PublicView, etag_matches


class DeviceActivateView(PublicView):
    @extend_schema_serializer(component_name="DeviceActivation")
    class InputSerializer(serializers.Serializer):
        activation_code = StrictCharField(help_text="One-time code from the back office.")

    @extend_schema_serializer(component_name="ActivatedDevice")
    class OutputSerializer(serializers.Serializer):
        class RegisterCodeSerializer(serializers.Serializer):
            code = serializers.CharField()

        class ChannelCurrencySerializer(serializers.Serializer):
            code = serializers.CharField()
            currency = serializers.CharField()

        device_id = serializers.IntegerField()
        token = serializers.CharField(help_text="Shown once: send it as 'Authorization: Bearer <token>'.")
        register = RegisterCodeSerializer()
        channel = ChannelCurrencySerializer()
        legal_entity = serializers.CharField()

    @extend_schema(
        operation_id="devices_activate",
        auth=[],
        request=InputSerializer,
        responses={201: OutputSerializer, **problems("invalid_activation_code", device=False)},
        description="Exchange a one-time activation code for a device token. The token is never stored "
        "in plain text, so Idempotency-Key is not replayed here: a lost response needs a new code.",
    )
    def post(self, request):
        data = self.validated(self.InputSerializer)
        device, token = device_activate(activation_code=data["activation_code"])
        register = device.register
        body = {
            "device_id": device.pk,
            "token": token,
            "register": {"code": register.code},
            "channel": {"code": register.channel.code, "currency": register.channel.currency},
            "legal_entity": register.channel.legal_entity.code,
        }
        return Response(self.OutputSerializer(body).data, status=status.HTTP_201_CREATED)


class HealthView(PublicView):
    @extend_schema_serializer(component_name="Health")
    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField(help_text='Always "ok".')
        time = serializers.CharField(help_text="Server time, RFC 3339 UTC.")

    @extend_schema(operation_id="health", auth=[], responses={200: OutputSerializer})
    def get(self, request):
        return Response(self.OutputSerializer({"status": "ok", "time": rfc3339(timezone.now())}).data)


class ParametersView(PosAPIView):
    @extend_schema_serializer(component_name="Parameters")
    class OutputSerializer(serializers.Serializer):
        """Documents the body; it is served as distributed, so fields added later pass through."""

        class GiftCardParametersSerializer(serializers.Serializer):
            allow_offline_conclusion = serializers.BooleanField()
            lock_timeout_minutes = serializers.IntegerField(allow_null=True)
            offline_limit = serializers.CharField(allow_null=True, help_text=DECIMAL_STRING["example"])
            max_balance = serializers.CharField(allow_null=True, help_text=DECIMAL_STRING["example"])
            offline_register_limit = serializers.CharField(allow_null=True, help_text=DECIMAL_STRING["example"])
            offline_max_hours = serializers.IntegerField(allow_null=True)

        class CreditMemoParametersSerializer(serializers.Serializer):
            allow_offline_conclusion = serializers.BooleanField()
            lock_timeout_minutes = serializers.IntegerField(allow_null=True)
            offline_limit = serializers.CharField(allow_null=True, help_text=DECIMAL_STRING["example"])
            offline_register_limit = serializers.CharField(allow_null=True, help_text=DECIMAL_STRING["example"])
            offline_max_hours = serializers.IntegerField(allow_null=True)

        version = serializers.IntegerField(help_text="0 before the first distribution.")
        distributed_at = serializers.CharField(allow_null=True, help_text=TIMESTAMP["example"])
        gift_card = GiftCardParametersSerializer()
        credit_memo = CreditMemoParametersSerializer()

    @extend_schema(
        operation_id="parameters",
        parameters=[OpenApiParameter("If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER)],
        responses={
            200: OutputSerializer,
            304: OpenApiResponse(description="Not modified: the If-None-Match ETag is current."),
            **problems(post=False),
        },
    )
    def get(self, request):
        current = channel_parameters_current(channel=self.register.channel)
        device_record_parameters(device=request.user, version=current.version)
        body = {**current.body(), "distributed_at": rfc3339(current.distributed_at)}
        etag = parameters_etag(body)
        if etag_matches(request.headers.get("If-None-Match"), etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(body, headers={"ETag": etag})


def parameters_etag(body: dict) -> str:
    """A strong ETag: the version and a digest of exactly what is served."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]
    return f'"v{body["version"]}-{digest}"'
