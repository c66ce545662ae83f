"""Conventions every operation shares: JSON only, problem+json errors, auth, unknown paths."""

import json
import re

import pytest
from django.test import override_settings

from commerce_hq.channels.services import device_deactivate
from tests.api.conftest import BASE, client_for, get, post, problem
from tests.factories import issue_card

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "transaction_id=T1"),
        ("multipart/form-data; boundary=X", '--X\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--X--\r\n'),
        ("text/plain", '{"transaction_id": "T1"}'),
        ("", '{"transaction_id": "T1"}'),
        ("", ""),
    ],
    ids=["form", "multipart", "text", "no-content-type", "no-content-type-empty"],
)
def test_a_post_that_is_not_json_is_415(api, register, content_type, body):
    card = issue_card(register)
    response = api.generic("POST", f"{BASE}gift-cards/{card.number}/lock", body, content_type=content_type)
    problem(response, 415, "unsupported_media_type")
    card.refresh_from_db()
    assert not card.is_locked


@pytest.mark.parametrize(
    "body",
    ['{"transaction_id": ', "", "[1, 2", '{"a": NaN}', "\xff\xfe", "[" * 100_000 + "]" * 100_000],
    ids=["truncated", "empty", "open-list", "nan", "not-utf8", "deep"],
)
def test_json_that_does_not_parse_is_400_parse_error(api, body):
    response = api.generic("POST", f"{BASE}gift-cards", body.encode("latin-1"), content_type="application/json")
    problem(response, 400, "parse_error")


def test_an_unknown_charset_falls_back_to_utf8(api):
    body = '{"transaction_id": "T", "amount": "5", "currency": "USD", "staff_id": "Å"}'.encode()
    response = api.generic("POST", f"{BASE}credit-memos", body, content_type="application/json; charset=nope")
    assert response.status_code == 201, response.content


def test_json_with_charset_is_accepted(api):
    response = api.generic(
        "POST", f"{BASE}credit-memos", b'{"transaction_id": "T", "amount": "5", "currency": "USD"}',
        content_type="application/json; charset=utf-8",
    )  # fmt: skip
    assert response.status_code == 201, response.content


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_a_body_over_the_size_limit_is_413(api):
    response = post(api, "gift-cards", {"transaction_id": "T" * 200})
    problem(response, 413, "payload_too_large")


@pytest.mark.parametrize("token", [None, "Bearer nope", "Token abc", "Bearer ", "Basic dXNlcjpwYXNz"])
def test_missing_or_bad_token_is_401(db, token):
    client = client_for()
    response = client.get(f"{BASE}parameters", headers={"Authorization": token} if token else {})
    body = problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer" and body["detail"]


def test_a_deactivated_device_is_refused_on_its_very_next_call(api, device):
    assert get(api, "parameters").status_code == 200
    device_deactivate(device=device[0])
    problem(get(api, "parameters"), 401, "not_authenticated")


@pytest.mark.parametrize("token", [False, True])
@pytest.mark.parametrize("method", ["get", "post", "put", "delete", "patch"])
@pytest.mark.parametrize("path", ["nope", "gift-cards/12345678/lock/extra", "health/", "gift-cards/", "v2/health"])
def test_unknown_paths_are_404_not_found_with_or_without_token(api, token, method, path):
    client = api if token else client_for()
    response = getattr(client, method)(BASE + path, {}, format="json")
    problem(response, 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("get", "gift-cards", "POST"), ("delete", "gift-cards/12345678", "GET"), ("put", "health", "GET"),
     ("get", "devices/activate", "POST"), ("options", "gift-cards/12345678/lock", "POST")],
)  # fmt: skip
@pytest.mark.parametrize("token", [True, False])
def test_a_wrong_method_is_405(api, method, path, allowed, token):
    response = getattr(api if token else client_for(), method)(BASE + path)
    problem(response, 405, "method_not_allowed")
    assert allowed in response["Allow"]


def test_validation_errors_list_each_field(api):
    response = post(api, "gift-cards", {"transaction_id": 12, "currency": "XXY", "number": "short"})
    body = problem(response, 400, "invalid_amount")
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"transaction_id", "currency", "number", "amount"}
    assert all(isinstance(error["detail"], str) and error["detail"] for error in body["errors"])


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_a_body_that_is_not_an_object_is_invalid_request(api, body):
    response = api.generic("POST", f"{BASE}credit-memos", json.dumps(body), content_type="application/json")
    problem(response, 400, "invalid_request")


def test_errors_are_json_whatever_the_client_accepts(api):
    response = api.get(f"{BASE}gift-cards/00000000", headers={"Accept": "text/html"})
    problem(response, 404, "card_not_found")


def test_health_needs_no_token_and_is_rfc3339_utc(db):
    response = client_for().get(f"{BASE}health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["time"])


@override_settings(DEBUG=False)
def test_no_https_redirect_or_hsts_by_default(db):
    response = client_for().get(f"{BASE}health")
    assert response.status_code == 200 and "Strict-Transport-Security" not in response
