from datetime import timedelta

import pytest
from django.utils import timezone

from commerce_hq.channels.models import ActivationCode, Device
from commerce_hq.channels.services import (
    InvalidActivationCode,
    activation_code_create,
    device_activate,
    device_authenticate,
    device_deactivate,
    hash_secret,
    register_devices_deactivate,
)

pytestmark = pytest.mark.django_db


def test_activation_code_is_stored_hashed_and_works_once(register):
    code = activation_code_create(register=register)
    stored = ActivationCode.objects.get()
    assert code not in stored.code_hash and stored.code_hash == hash_secret(code.replace("-", ""))
    device, token = device_activate(activation_code=code.lower())
    assert device.register == register and device.token_hash == hash_secret(token)
    with pytest.raises(InvalidActivationCode):
        device_activate(activation_code=code)
    assert Device.objects.count() == 1


@pytest.mark.parametrize("code", ["", "NOPE-NOPE-NOPE-NOPE", None, 1234])
def test_unknown_codes_are_refused(register, code):
    with pytest.raises(InvalidActivationCode):
        device_activate(activation_code=code)


def test_expired_codes_are_refused(register):
    code = activation_code_create(register=register)
    ActivationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidActivationCode):
        device_activate(activation_code=code)


def test_a_deactivated_device_no_longer_authenticates(register):
    device, token = device_activate(activation_code=activation_code_create(register=register))
    assert device_authenticate(token=token) == device
    device_deactivate(device=device)
    assert device_authenticate(token=token) is None
    assert device_authenticate(token="not-a-token") is None


def test_a_register_may_have_several_devices_and_all_can_be_deactivated(register):
    tokens = [device_activate(activation_code=activation_code_create(register=register))[1] for _ in range(2)]
    assert all(device_authenticate(token=t) for t in tokens)
    assert register_devices_deactivate(register=register) == 2
    assert not any(device_authenticate(token=t) for t in tokens)
