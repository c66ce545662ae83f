"""Helpers for the distribution tests: stage uploads and distribute parameters as a register would see."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from commerce_hq.channels.models import Device, Register
from commerce_hq.distribution.services import parameters_distribute
from commerce_hq.parameters.services import parameters_update
from pos_api.channel_db.models import OfflineTransaction
from pos_api.channel_db.services import offline_transactions_stage

ALLOW_BOTH = {"gift_card.allow_offline_conclusion": True, "credit_memo.allow_offline_conclusion": True}


def device_for(register: Register) -> Device:
    return Device.objects.create(register=register, token_hash=f"hash-{register.pk}-{Device.objects.count()}")


def allow_offline(register: Register, **extra) -> None:
    """Switch offline conclusion on (plus ``extra`` dotted keys) and distribute it, a moment ago."""
    parameters_update(legal_entity=register.channel.legal_entity, changes={**ALLOW_BOTH, **extra})
    parameters_distribute()


def redeem(number: str, amount: str, kind: str = "gift_card", **extra) -> dict:
    return {"type": f"{kind}.redeem", "number": number, "amount": amount, "currency": "USD", **extra}


def unlock(number: str, kind: str = "gift_card") -> dict:
    return {"type": f"{kind}.unlock", "number": number}


def stage(register: Register, transaction_id: str, operations: list[dict], *, concluded_at: datetime | None = None):
    """Stage one offline transaction as the upload endpoint does; returns the UploadResult."""
    tx = {
        "transaction_id": transaction_id,
        "concluded_at": concluded_at or timezone.now(),
        "staff_id": "042",
        "operations": [{**op, "amount": Decimal(op["amount"])} if "amount" in op else op for op in operations],
    }
    device = register.devices.first() or device_for(register)
    return offline_transactions_stage(device=device, transactions=[tx])


def staged(register: Register, transaction_id: str) -> OfflineTransaction:
    return OfflineTransaction.objects.get(register=register, transaction_id=transaction_id, conflict_of__isnull=True)


def codes(row: OfflineTransaction) -> list[str]:
    return sorted(row.sync_exceptions.values_list("code", flat=True))


def minutes_ago(minutes: float) -> datetime:
    return timezone.now() - timedelta(minutes=minutes)


BASE = "/api/pos/v1/"


def api_client(register: Register):
    """An API client acting as a freshly activated device of ``register``."""
    from rest_framework.test import APIClient

    from commerce_hq.channels.services import activation_code_create, device_activate
    from pos_api.channel_db.selectors import channel_parameters_invalidate

    _, token = device_activate(activation_code=activation_code_create(register=register))
    channel_parameters_invalidate(channel_id=register.channel_id)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def upload(client, transactions: list[dict], **headers):
    return client.post(BASE + "offline-transactions", {"transactions": transactions}, format="json", headers=headers)


def offline_tx(transaction_id: str, operations: list[dict], concluded_at: str = "", staff_id: str = "042") -> dict:
    when = concluded_at or timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"transaction_id": transaction_id, "concluded_at": when, "staff_id": staff_id, "operations": operations}
