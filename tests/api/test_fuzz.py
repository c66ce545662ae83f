"""Property-based fuzzing of the project's own OpenAPI schema with Schemathesis (bounded).

Every operation is called with generated requests and a valid device token, once as generated
and once with the path's number swapped for a real card or memo, so locks, redemptions and
their refusals run too. No response may be a 5xx, and every response must match the schema
(status code, content type, body).
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import activate
from tests.factories import issue_card, issue_memo


def in_test_transaction(handler):
    """The WSGI app without the per-request connection recycling (as Django's test client does),
    so requests run inside the test's transaction instead of closing its connection."""

    def app(environ, start_response):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = handler(environ, start_response)
            body = b"".join(response)
            response.close()
            return [body]
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)

    return app


schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", in_test_transaction(get_wsgi_application()))
CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]  # fmt: skip


@pytest.fixture
def device_headers(register):
    return {"Authorization": f"Bearer {activate(register)[1]}"}


@pytest.fixture
def real_numbers(register):
    return {"gift-cards": issue_card(register, "500.00").number, "credit-memos": issue_memo(register, "80.00").number}


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_server_error_and_match_the_schema(case, device_headers, real_numbers):
    response = case.call(headers=device_headers)
    assert response.status_code < 500
    case.validate_response(response, checks=CHECKS, headers=device_headers)
    prefix = case.path.removeprefix("/api/pos/v1/").split("/")[0]
    if "number" in (case.path_parameters or {}) and prefix in real_numbers:
        case.path_parameters["number"] = real_numbers[prefix]
        response = case.call(headers=device_headers)
        assert response.status_code < 500
        case.validate_response(response, checks=CHECKS, headers=device_headers)
