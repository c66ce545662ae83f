"""RFC 9457 problem details: the one place where errors become ``application/problem+json``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from http import HTTPStatus

from django.core.exceptions import RequestDataTooBig
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from commerce_hq.channels.models import Device
from commerce_hq.errors import DomainError

from .fields import INVALID_AMOUNT, amount_text, rfc3339

PROBLEM_TYPE = "https://commerce-hq.example/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"

_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.Throttled: "throttled",
    exceptions.ValidationError: "invalid_request",
}
_KEPT_HEADERS = ("WWW-Authenticate", "Allow", "Retry-After")


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def problem(status_code: int, code: str, title: str, detail: str, **extra) -> Response:
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status_code, "code": code, "detail": detail}
    body.update(extra)
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        currency = _caller_currency(context)
        extra = {key: jsonable(value, currency) for key, value in exc.extra.items()}
        return problem(exc.status, exc.code, exc.title, exc.detail, **extra)
    if isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return validation_problem(exc, getattr(context.get("view"), "validation_code", "invalid_request"))
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), exc.default_code)
    detail = exc.detail if isinstance(exc.detail, str) else "The request is not valid."
    result = problem(response.status_code, code, _title(response.status_code), str(detail))
    for header in _KEPT_HEADERS:
        if header in response:
            result[header] = response[header]
    return result


def validation_problem(exc: exceptions.ValidationError, code: str) -> Response:
    """400 with ``errors: [{field, detail}]`` (and ``index`` for an item of a top-level list).
    Any amount error makes the code ``invalid_amount``."""
    errors = [_error(path, message) for path, message in _flatten(exc.detail)]
    if any(getattr(message, "code", None) == INVALID_AMOUNT for _, message in _flatten(exc.detail)):
        code = INVALID_AMOUNT
    detail = "; ".join(f"{e['field']}: {e['detail']}" for e in errors[:5])
    return problem(400, code, _title(400), detail, errors=errors)


def _flatten(detail, path: tuple = ()) -> Iterator[tuple[tuple, object]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            yield from _flatten(value, (*path, key))
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            yield from _flatten(item, (*path, index)) if isinstance(item, dict | list) else [(path, item)]
    else:
        yield path, detail


def _error(path: tuple, message) -> dict:
    names = [str(part) for part in path if part != "non_field_errors"]
    error = {"field": ".".join(names) or "body", "detail": str(message)}
    if len(path) >= 2 and isinstance(path[1], int):
        error["index"] = path[1]
    return error


def jsonable(value, currency: str | None = None):
    """Problem extras as JSON: datetimes RFC 3339 UTC, Decimals as decimal strings."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Decimal):
        return amount_text(value, currency)
    if isinstance(value, dict):
        return {key: jsonable(item, currency) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item, currency) for item in value]
    return value


def _caller_currency(context) -> str | None:
    request = context.get("request")
    device = getattr(request, "user", None) if request is not None else None
    return device.register.channel.currency if isinstance(device, Device) else None


def _title(status_code: int) -> str:
    return HTTPStatus(status_code).phrase
