"""``Authorization: Bearer <device token>``: the device is read fresh on every call (one indexed
query), so a deactivated device is refused on its very next request."""

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions

from commerce_hq.channels.models import Device
from commerce_hq.channels.services import device_authenticate

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
        device = device_authenticate(token=token.strip())
        if device is None:
            raise exceptions.AuthenticationFailed("The device token is unknown or the device was deactivated.")
        _touch(device)
        return (device, token)

    def authenticate_header(self, request) -> str:
        return self.keyword


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
