"""The base every POS API view builds on: device auth, JSON only, problem+json errors."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.http import parse_etags
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, parsers, renderers, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from commerce_hq.errors import DomainError
from commerce_hq.stored_value.errors import InvalidRequest
from commerce_hq.stored_value.locks import normalize_number
from commerce_hq.stored_value.services import Actor

from ..authentication import DeviceTokenAuthentication, IsDevice


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with absurdly deep nesting answered as ``parse_error``."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class JSONOnly(DefaultContentNegotiation):
    """Always answer JSON, whatever ``Accept`` says (no 406 surprises for registers)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PosAPIView(APIView):
    """A device-authenticated operation. A POST must carry a JSON body (``application/json``)."""

    authentication_classes = [DeviceTokenAuthentication]
    permission_classes = [IsDevice]
    parser_classes = [JSONParser]
    renderer_classes = [renderers.JSONRenderer]
    content_negotiation_class = JSONOnly
    throttle_classes = []
    http_method_names = ["get", "post", "head"]

    def initial(self, request, *args, **kwargs):
        if request.method.lower() not in self.http_method_names or not hasattr(self, request.method.lower()):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            require_json_body(request)

    @property
    def register(self):
        return self.request.user.register

    def actor(self, data: dict) -> Actor:
        return Actor.pos(self.register, staff_id=data.get("staff_id", ""), device_id=self.request.user.pk)

    def validated(self, serializer_class) -> dict:
        data = self.request.data
        plain = plain_validated(serializer_class, data)
        if plain is not None:
            return plain
        serializer = serializer_class(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def output(self, serializer_class, instance) -> dict:
        return serializer_class(instance, context={"register": self.register}).data


class NumberView(PosAPIView):
    """An operation on the gift card or credit memo numbered in the path."""

    not_found: type[DomainError]
    what: str

    def number(self) -> str:
        """The path's number, upper-cased; a malformed one is simply not found."""
        try:
            return normalize_number(self.kwargs["number"])
        except InvalidRequest:
            raise self.not_found(f"No {self.what} with that number.") from None

    def lock_change(self, service) -> Response:
        """Run a lock or unlock ``service`` on the path's number for the body's transaction."""
        data = self.validated(self.InputSerializer)
        locked = service(number=self.number(), register=self.register, transaction_id=data["transaction_id"])
        return Response(self.output(self.OutputSerializer, locked))

    def lock(self, service) -> Response:
        """Run a lock ``service``: the device taking it is on record with the hold."""
        data = self.validated(self.InputSerializer)
        locked = service(
            number=self.number(),
            register=self.register,
            transaction_id=data["transaction_id"],
            device_id=self.request.user.pk,
        )
        return Response(self.output(self.OutputSerializer, locked))


class PublicView(PosAPIView):
    """No device token needed."""

    authentication_classes = []
    permission_classes = []


def plain_validated(serializer_class, data) -> dict | None:
    """What ``serializer_class(data=data)`` validates to, run on the class's declared fields
    themselves: a serializer instance deep-copies every field before validating, a cost paid on
    every money call. Only flat serializers of plain fields qualify; on any error (or anything
    unusual) this answers ``None`` and the serializer runs, giving the exact error body."""
    serializer = serializer_class()  # cheap: its fields are built only when read
    if not isinstance(data, dict) or not _flat(serializer):
        return None
    validated = {}
    try:
        for name, field in serializer_class._declared_fields.items():
            if name in data:
                validated[name] = field.run_validation(data[name])
            elif field.required or field.default is not empty:
                return None
        return serializer.validate(validated)
    except (ValidationError, DjangoValidationError):
        return None


def _flat(serializer) -> bool:
    """Plain writable fields under their own names, no per-field or Meta validators."""
    if getattr(getattr(serializer, "Meta", None), "validators", None):
        return False
    return all(
        not isinstance(field, serializers.BaseSerializer)
        and not field.read_only
        and field.source in (None, name)
        and not hasattr(serializer, f"validate_{name}")
        for name, field in serializer._declared_fields.items()
    )


def require_json_body(request) -> None:
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise exceptions.UnsupportedMediaType(media_type or "(no Content-Type)")
    if request.META.get("CONTENT_LENGTH") in (None, "", "0"):
        raise exceptions.ParseError("The body must be a JSON object.")


def etag_matches(header: str | None, etag: str) -> bool:
    """``If-None-Match`` uses the weak comparison (RFC 9110 §13.1.2)."""
    if not header:
        return False
    tags = [tag.removeprefix("W/") for tag in parse_etags(header)]
    return "*" in tags or etag in tags


@extend_schema(exclude=True)
class NotFoundView(PublicView):
    """Every unknown path under the API base: ``404 not_found`` for any method, token or not."""

    def initial(self, request, *args, **kwargs):
        raise exceptions.NotFound("There is no such path in the POS API.")
