"""``Authorization: Bearer <device token>``: the device is read fresh on every call (one indexed
query), so a deactivated device is refused on its very next request."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from commerce_hq.channels.models import Device
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
    """The active device owning ``token``: one query on the unique token hash with its register and
    channel joined (``get`` skips the model's join-heavy default ordering)."""
    try:
        return Device.objects.select_related("register__channel").get(
            token_hash=hash_secret(token), deactivated_at__isnull=True
        )
    except Device.DoesNotExist:
        return None


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
