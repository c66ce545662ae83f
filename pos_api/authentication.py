"""``Authorization: Bearer <device token>``: the device is read fresh on every call, so a
deactivated device is refused on its very next request."""

from rest_framework import authentication, exceptions

from commerce_hq.channels.services import device_authenticate


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
        return (device, token)

    def authenticate_header(self, request) -> str:
        return self.keyword
