"""The served OpenAPI schema agrees with the contract; Swagger UI works without a CDN."""

import re

import pytest
from django.contrib.staticfiles import finders

from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

CONTRACT = {
    ("post", "devices/activate"),
    ("get", "health"),
    ("get", "parameters"),
    ("post", "gift-cards"),
    ("get", "gift-cards/{number}"),
    ("post", "gift-cards/{number}/lock"),
    ("post", "gift-cards/{number}/unlock"),
    ("post", "gift-cards/{number}/redeem"),
    ("post", "gift-cards/{number}/add-value"),
    ("post", "gift-cards/{number}/cash-out"),
    ("post", "credit-memos"),
    ("get", "credit-memos/{number}"),
    ("post", "credit-memos/{number}/lock"),
    ("post", "credit-memos/{number}/unlock"),
    ("post", "credit-memos/{number}/redeem"),
    ("post", "offline-transactions"),
    ("get", "offline-transactions/{transaction_id}"),
}
PUBLIC = {("post", "devices/activate"), ("get", "health")}
BASE = "/api/pos/v1/"


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = client_for().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def operations(schema) -> dict:
    return {
        (method, path.removeprefix(BASE)): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    }


def test_the_schema_lists_every_contract_path_and_method(schema):
    assert set(operations(schema)) >= CONTRACT


def test_devices_authenticate_with_a_bearer_token(schema):
    assert schema["components"]["securitySchemes"]["deviceToken"]["scheme"] == "bearer"
    for key, operation in operations(schema).items():
        if key in CONTRACT:
            assert bool(operation.get("security")) == (key not in PUBLIC), key


def test_every_device_post_takes_an_idempotency_key_and_answers_problems(schema):
    for (method, path), operation in operations(schema).items():
        errors = {code: body for code, body in operation["responses"].items() if code.startswith(("4", "5"))}
        assert all("application/problem+json" in body["content"] for body in errors.values()), path
        assert errors or path == "health", path
        if method == "post" and path != "devices/activate":
            assert "Idempotency-Key" in {p["name"] for p in operation.get("parameters", [])}, path
            assert {"400", "401", "415", "422"} <= set(errors), path


def test_money_fields_are_decimal_strings(schema):
    body = schema["components"]["schemas"]["MoneyMoveInputRequest"]["properties"]
    assert body["amount"]["type"] == "string" and body["amount"]["format"] == "decimal"
    assert schema["components"]["schemas"]["GiftCard"]["properties"]["balance"]["type"] == "string"


def test_swagger_ui_loads_its_assets_from_this_server(db):
    page = client_for().get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and not [url for url in assets if url.startswith(("http://", "https://", "//"))]
    bundle = next(url for url in assets if url.endswith("swagger-ui-bundle.js"))
    assert finders.find(bundle.removeprefix("/static/"))
    assert client_for().get(bundle).status_code == 200
