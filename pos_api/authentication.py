"""``Authorization: Bearer <device token>``: the device is read fresh on every call (one indexed
query), so a deactivated device is refused on its very next request."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from commerce_hq.channels.models import Channel, Device, Register
from commerce_hq.channels.services import hash_secret

LAST_SEEN_EVERY = timedelta(minutes=1)


class DeviceTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme != self.keyword or not token.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <device token>'.")
        device = active_device(token.strip())
        if device is None:
            raise exceptions.AuthenticationFailed("The device token is unknown or the device was deactivated.")
        _touch(device)
        return (device, token)

    def authenticate_header(self, request) -> str:
        return self.keyword


def active_device(token: str) -> Device | None:
    """The active device owning ``token``, its register and channel loaded: one query on the unique
    token hash. PostgreSQL runs it as constant SQL (this is every request's first query); elsewhere
    the ORM builds it (``get`` skips the model's join-heavy default ordering)."""
    token_hash = hash_secret(token)
    if connection.vendor == "postgresql":
        return _device_by_sql(token_hash)
    try:
        return Device.objects.select_related("register__channel").get(
            token_hash=token_hash, deactivated_at__isnull=True
        )
    except Device.DoesNotExist:
        return None


JOINED = ((Device, "device"), (Register, "register"), (Channel, "channel"))
DEVICE_SQL = (
    "SELECT "
    + ", ".join(f"{alias}.{field.column}" for model, alias in JOINED for field in model._meta.concrete_fields)
    + f" FROM {Device._meta.db_table} device"
    + f" JOIN {Register._meta.db_table} register ON register.id = device.register_id"
    + f" JOIN {Channel._meta.db_table} channel ON channel.id = register.channel_id"
    + " WHERE device.token_hash = %s AND device.deactivated_at IS NULL"
)


def _device_by_sql(token_hash: str) -> Device | None:
    with connection.cursor() as cursor:
        cursor.execute(DEVICE_SQL, [token_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    device, register, channel = _instances(row)
    register.channel = channel
    device.register = register
    return device


def _instances(row) -> list:
    """One model instance per joined table, as the ORM would load it."""
    instances, start = [], 0
    for model, _ in JOINED:
        fields = model._meta.concrete_fields
        values = row[start : start + len(fields)]
        instances.append(model.from_db(connection.alias, [field.attname for field in fields], values))
        start += len(fields)
    return instances


def _touch(device: Device) -> None:
    """Record ``last_seen_at``, at most once a minute per device (one UPDATE, no read)."""
    now = timezone.now()
    if device.last_seen_at is None or now - device.last_seen_at >= LAST_SEEN_EVERY:
        Device.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now


class IsDevice(permissions.BasePermission):
    """The caller authenticated as an active device."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, Device)
