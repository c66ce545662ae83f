import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from commerce_hq.channels.models import ActivationCode, Channel, Device
from commerce_hq.channels.services import device_activate, device_record_parameters, hash_secret
from pos_api.channel_db.models import DistributedParameters
from pos_api.channel_db.selectors import NOT_YET_DISTRIBUTED
from tests.admin.conftest import action_post, messages_of, staff_client
from tests.factories import ChannelFactory, RegisterFactory

REGISTERS = reverse("admin:channels_register_changelist")
DEVICES = reverse("admin:channels_device_changelist")
CODE = re.compile(r"\b([0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4})\b")


def test_create_activation_code_shows_it_once(admin_client, admin_user, register):
    # when
    response = action_post(admin_client, REGISTERS, "create_activation_code", register)
    # then
    shown = [m for m in messages_of(admin_client.get(response["Location"])) if "Activation code" in m]
    assert len(shown) == 1 and "STORE1/REG1" in shown[0]
    code = CODE.search(shown[0]).group(1)
    stored = ActivationCode.objects.get(register=register)
    assert stored.created_by == admin_user and stored.code_hash == hash_secret(code.replace("-", ""))
    codes_page = admin_client.get(reverse("admin:channels_activationcode_changelist")).content.decode()
    assert code not in codes_page and stored.code_hash not in codes_page and "valid" in codes_page
    device, _token = device_activate(activation_code=code)
    assert device.register == register


def test_ops_may_create_codes_and_deactivate_devices(register):
    # given
    client, user = staff_client("ops", groups=["Ops"])
    device, _ = device_activate(activation_code=_code_for(register))
    # when
    action_post(client, REGISTERS, "create_activation_code", register)
    action_post(client, DEVICES, "deactivate", device)
    # then
    assert ActivationCode.objects.filter(register=register, created_by=user).exists()
    device.refresh_from_db()
    assert device.deactivated_at is not None and device.deactivated_by == user


def test_deactivate_device(admin_client, admin_user, register):
    # given
    device, _ = device_activate(activation_code=_code_for(register))
    # when
    response = action_post(admin_client, DEVICES, "deactivate", device)
    # then
    device.refresh_from_db()
    assert not device.is_active and device.deactivated_by == admin_user
    assert any("Deactivated 1 device" in m for m in messages_of(admin_client.get(response["Location"])))


def test_viewer_can_neither_create_codes_nor_deactivate(viewer, register):
    # given
    client, _ = viewer
    device, _ = device_activate(activation_code=_code_for(register))
    codes_before = ActivationCode.objects.count()
    # when
    devices_page = client.get(DEVICES).content.decode()
    action_post(client, REGISTERS, "create_activation_code", register)
    action_post(client, DEVICES, "deactivate", device)
    # then
    assert 'value="deactivate"' not in devices_page
    device.refresh_from_db()
    assert device.is_active and ActivationCode.objects.count() == codes_before


def test_device_page_is_read_only_and_never_shows_the_token_hash(admin_client, register):
    device, token = device_activate(activation_code=_code_for(register))
    url = reverse("admin:channels_device_change", args=[device.pk])
    html = admin_client.get(url).content.decode()
    assert device.token_prefix in html and device.token_hash not in html and token not in html
    assert admin_client.post(url, {"register": register.pk}).status_code == 403


def test_channel_shows_distributed_version_and_each_devices_version(admin_client, register):
    # given
    device, _ = device_activate(activation_code=_code_for(register))
    DistributedParameters.objects.create(
        channel=register.channel, version=3, payload=NOT_YET_DISTRIBUTED, distributed_at=timezone.now()
    )
    device_record_parameters(device=device, version=3)
    # when
    listing = admin_client.get(reverse("admin:channels_channel_changelist")).content.decode()
    detail = admin_client.get(reverse("admin:channels_channel_change", args=[register.channel.pk])).content.decode()
    # then
    assert "v3" in listing
    assert "Version 3, distributed" in detail
    assert 'id="device-versions"' in detail and "<td>v3</td>" in detail and device.token_prefix in detail


def test_channel_not_yet_distributed(admin_client, channel):
    listing = admin_client.get(reverse("admin:channels_channel_changelist")).content.decode()
    assert "not yet distributed" in listing


def test_channel_currency_must_be_iso_4217(admin_client, channel):
    data = {
        "legal_entity": channel.legal_entity.pk,
        "code": "STORE9",
        "name": "",
        "currency": "XYZ",
        "cash_out_threshold": "0",
    }
    refused = admin_client.post(reverse("admin:channels_channel_add"), data)
    accepted = admin_client.post(reverse("admin:channels_channel_add"), {**data, "currency": "eur"})
    assert "ISO 4217" in refused.content.decode()
    assert accepted.status_code == 302 and Channel.objects.get(code="STORE9").currency == "EUR"


def test_register_page_lists_its_devices_inline(admin_client, register):
    device, _ = device_activate(activation_code=_code_for(register))
    html = admin_client.get(reverse("admin:channels_register_change", args=[register.pk])).content.decode()
    assert device.token_prefix in html and Device.objects.count() == 1


def _code_for(register) -> str:
    from commerce_hq.channels.services import activation_code_create

    return activation_code_create(register=register)


def list_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_channel_and_register_lists_query_the_same_for_more_rows(admin_client, register):
    # given
    channels = reverse("admin:channels_channel_changelist")
    registers = reverse("admin:channels_register_changelist")
    device_activate(activation_code=_code_for(register))
    before = (list_queries(admin_client, channels), list_queries(admin_client, registers))
    # when
    for code in ("STORE2", "STORE3"):
        other = RegisterFactory(channel=ChannelFactory(legal_entity=register.channel.legal_entity, code=code))
        device_activate(activation_code=_code_for(other))
        DistributedParameters.objects.create(
            channel=other.channel, version=2, payload=NOT_YET_DISTRIBUTED, distributed_at=timezone.now()
        )
    # then
    assert (list_queries(admin_client, channels), list_queries(admin_client, registers)) == before
    assert "v2" in admin_client.get(channels).content.decode()
