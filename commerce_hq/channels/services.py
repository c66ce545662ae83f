"""Channel, register and device services: the only writers of these rows."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from commerce_hq.errors import DomainError

from .models import ActivationCode, Device, Register


class InvalidActivationCode(DomainError):
    code = "invalid_activation_code"
    status = 400
    title = "Invalid activation code"


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def activation_code_create(*, register: Register, created_by=None, ttl_minutes: int | None = None) -> str:
    """Make a one-time activation code for ``register``; returns the plain code (shown once)."""
    ttl = ttl_minutes or settings.ACTIVATION_CODE_TTL_MINUTES
    code = "-".join(secrets.token_hex(2).upper() for _ in range(4))
    ActivationCode.objects.create(
        register=register,
        code_hash=hash_secret(code.replace("-", "")),
        created_by=created_by,
        expires_at=timezone.now() + timedelta(minutes=ttl),
    )
    return code


@transaction.atomic
def device_activate(*, activation_code: str) -> tuple[Device, str]:
    """Exchange an unused, unexpired activation code for a device and its token."""
    normalized = activation_code.strip().upper().replace("-", "") if isinstance(activation_code, str) else ""
    found = (
        ActivationCode.objects.select_for_update()
        .select_related("register__channel__legal_entity")
        .filter(code_hash=hash_secret(normalized), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if found is None:
        raise InvalidActivationCode("The activation code is unknown, already used or expired.")
    token = secrets.token_urlsafe(32)
    device = Device.objects.create(register=found.register, token_hash=hash_secret(token), token_prefix=token[:8])
    found.used_at = timezone.now()
    found.device = device
    found.save(update_fields=["used_at", "device"])
    return device, token


def device_authenticate(*, token: str) -> Device | None:
    """The active device owning ``token``, read fresh from the database (no cache)."""
    return (
        Device.objects.select_related("register__channel__legal_entity")
        .filter(token_hash=hash_secret(token), deactivated_at__isnull=True)
        .first()
    )


def device_deactivate(*, device: Device, by=None) -> Device:
    if device.deactivated_at is None:
        device.deactivated_at = timezone.now()
        device.deactivated_by = by
        device.save(update_fields=["deactivated_at", "deactivated_by"])
    return device


def register_devices_deactivate(*, register: Register, by=None) -> int:
    """Deactivate every active device of ``register``; returns how many."""
    return register.devices.filter(deactivated_at__isnull=True).update(deactivated_at=timezone.now(), deactivated_by=by)


def device_record_parameters(*, device: Device, version: int) -> None:
    """Remember which parameter version a device has picked up (only when it changes)."""
    if device.parameters_version != version:
        now = timezone.now()
        Device.objects.filter(pk=device.pk).update(parameters_version=version, parameters_fetched_at=now)
        device.parameters_version, device.parameters_fetched_at = version, now
