"""RFC 9457 problem details: the one place where errors become ``application/problem+json``."""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from commerce_hq.errors import DomainError

PROBLEM_TYPE = "https://commerce-hq.example/problems/"

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


def problem(status_code: int, code: str, title: str, detail: str, **extra) -> Response:
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status_code, "code": code, "detail": detail}
    body.update(extra)
    return Response(body, status=status_code, content_type="application/problem+json")


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), "error")
    detail = exc.detail if isinstance(exc.detail, str) else "The request is not valid."
    result = problem(response.status_code, code, _title(response.status_code), str(detail))
    for header in ("WWW-Authenticate", "Allow", "Retry-After"):
        if header in response:
            result[header] = response[header]
    if response.status_code == status.HTTP_403_FORBIDDEN and code == "not_authenticated":
        result.status_code = status.HTTP_401_UNAUTHORIZED
    return result


def _title(status_code: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status_code).phrase
