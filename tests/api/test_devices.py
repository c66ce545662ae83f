"""Devices and status: activation, health, parameters with ETag."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from commerce_hq.channels.models import ActivationCode, Device
from commerce_hq.channels.services import activation_code_create
from pos_api.channel_db.models import DistributedParameters
from pos_api.channel_db.selectors import NOT_YET_DISTRIBUTED, channel_parameters_invalidate
from tests.api.conftest import client_for, get, post, problem

pytestmark = pytest.mark.django_db


def distribute(channel, version: int, *, gift_card_offline: bool) -> None:
    """What job 1110 does for one channel: a new version row, then the cache dropped."""
    payload = {
        "gift_card": {**NOT_YET_DISTRIBUTED["gift_card"], "allow_offline_conclusion": gift_card_offline},
        "credit_memo": NOT_YET_DISTRIBUTED["credit_memo"],
    }
    DistributedParameters.objects.create(
        channel=channel, version=version, payload=payload, distributed_at=datetime(2026, 11, 23, 10, tzinfo=UTC)
    )
    channel_parameters_invalidate(channel_id=channel.pk)


def test_activation_returns_a_token_that_authenticates(register):
    code = activation_code_create(register=register)
    response = post(client_for(), "devices/activate", {"activation_code": code.lower()})
    assert response.status_code == 201
    body = response.json()
    assert body["register"] == {"code": "REG1"}
    assert body["channel"] == {"code": "STORE1", "currency": "USD"}
    assert body["legal_entity"] == "DEMO"
    assert Device.objects.get(pk=body["device_id"]).register == register
    assert get(client_for(body["token"]), "parameters").status_code == 200


def test_activation_ignores_a_stale_token_header(register):
    code = activation_code_create(register=register)
    response = post(client_for("stale-token"), "devices/activate", {"activation_code": code})
    assert response.status_code == 201


@pytest.mark.parametrize("reuse", ["unknown", "used", "expired"])
def test_an_unknown_used_or_expired_code_is_refused(register, reuse):
    code = activation_code_create(register=register)
    if reuse == "used":
        assert post(client_for(), "devices/activate", {"activation_code": code}).status_code == 201
    if reuse == "expired":
        ActivationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    sent = "0000-0000-0000-0000" if reuse == "unknown" else code
    problem(post(client_for(), "devices/activate", {"activation_code": sent}), 400, "invalid_activation_code")


@pytest.mark.parametrize("body", [{}, {"activation_code": 1234}, {"activation_code": None}])
def test_a_missing_or_non_string_code_is_invalid_request(db, body):
    response = post(client_for(), "devices/activate", body)
    assert problem(response, 400, "invalid_request")["errors"][0]["field"] == "activation_code"


def test_parameters_before_the_first_distribution_are_version_0_with_both_switches_off(api, device):
    response = get(api, "parameters")
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == 0 and body["distributed_at"] is None
    assert body["gift_card"]["allow_offline_conclusion"] is False
    assert body["credit_memo"]["allow_offline_conclusion"] is False
    assert response["ETag"].startswith('"') and not response["ETag"].startswith("W/")


def test_parameters_etag_gives_304_until_a_new_version_is_distributed(api, channel, device):
    # given
    etag = get(api, "parameters")["ETag"]
    # when / then
    not_modified = get(api, "parameters", **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b"" and not_modified["ETag"] == etag
    assert get(api, "parameters", **{"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert get(api, "parameters", **{"If-None-Match": '"other"'}).status_code == 200
    # when a new version reaches the channel
    distribute(channel, 3, gift_card_offline=True)
    fresh = get(api, "parameters", **{"If-None-Match": etag})
    # then
    assert fresh.status_code == 200 and fresh["ETag"] != etag
    body = fresh.json()
    assert body["version"] == 3 and body["distributed_at"] == "2026-11-23T10:00:00Z"
    assert body["gift_card"]["allow_offline_conclusion"] is True


def test_parameters_record_the_version_each_device_picked_up(api, channel, device):
    distribute(channel, 2, gift_card_offline=False)
    assert get(api, "parameters").status_code == 200
    device[0].refresh_from_db()
    assert device[0].parameters_version == 2 and device[0].parameters_fetched_at is not None


def test_last_seen_is_updated_at_most_once_a_minute(api, device):
    get(api, "parameters")
    device[0].refresh_from_db()
    first = device[0].last_seen_at
    assert first is not None
    get(api, "parameters")
    device[0].refresh_from_db()
    assert device[0].last_seen_at == first
    Device.objects.filter(pk=device[0].pk).update(last_seen_at=first - timedelta(minutes=2))
    get(api, "parameters")
    device[0].refresh_from_db()
    assert device[0].last_seen_at > first - timedelta(minutes=2)
