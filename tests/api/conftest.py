"""API fixtures: activated devices and clients that send their tokens."""

import pytest
from rest_framework.test import APIClient

from commerce_hq.channels.services import activation_code_create, device_activate

BASE = "/api/pos/v1/"


def activate(register):
    """A new device for ``register``: returns (device, token)."""
    return device_activate(activation_code=activation_code_create(register=register))


def client_for(token: str | None = None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def device(register):
    return activate(register)


@pytest.fixture
def api(device):
    """A client acting as REG1's device."""
    return client_for(device[1])


@pytest.fixture
def other_api(other_register):
    """A client acting as REG2's device (same store)."""
    return client_for(activate(other_register)[1])


def post(client: APIClient, path: str, body: dict | None = None, **headers):
    return client.post(BASE + path, body or {}, format="json", headers=headers)


def get(client: APIClient, path: str, **headers):
    return client.get(BASE + path, headers=headers)


def problem(response, status: int, code: str) -> dict:
    """Assert an RFC 9457 problem with ``status`` and ``code``; return its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"].endswith(code) and body["title"] and isinstance(body["detail"], str)
    return body
