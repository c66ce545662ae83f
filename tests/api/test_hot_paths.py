"""Per-request work on the hot paths (query counts) and the per-device balance lookup throttle."""

import pytest
from django.db import connection

from commerce_hq.channels.models import Device
from commerce_hq.channels.services import device_deactivate
from pos_api.authentication import active_device
from pos_api.views.base import plain_validated
from pos_api.views.gift_cards import MoneyMoveInput, TransactionInput
from tests.api.conftest import get, post, problem
from tests.factories import issue_card, issue_memo

pytestmark = pytest.mark.django_db

# In a test the request's transaction is a savepoint: SAVEPOINT + RELEASE are two of the counted queries.
AUTH = 1
ATOMIC = 2


def service_queries(extra: int = 0) -> int:
    """Lock, and redeem of a held lock: one statement on PostgreSQL; elsewhere a transaction with
    the row lock and two more queries (lock: parameters + update; redeem: update + ledger insert,
    plus the ``extra`` look-up for an earlier debit of the same transaction)."""
    return 1 if connection.vendor == "postgresql" else ATOMIC + 3 + extra


def test_lock_is_auth_plus_one_statement_or_row_lock_parameters_and_update(api, register, django_assert_num_queries):
    card = issue_card(register)
    get(api, "health")
    post(api, f"gift-cards/{card.number}/unlock", {"transaction_id": "WARM"})  # last_seen_at written once
    with django_assert_num_queries(AUTH + service_queries()):
        assert post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"}).status_code == 200


def test_redeem_of_a_held_lock_is_auth_plus_one_statement_or_row_lock_update_and_entry(
    api, register, django_assert_num_queries
):
    card = issue_card(register)
    post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    with django_assert_num_queries(AUTH + service_queries(extra=1)):
        response = post(
            api, f"gift-cards/{card.number}/redeem", {"transaction_id": "T1", "amount": "1", "currency": "USD"}
        )
    assert response.status_code == 200


def test_balance_lookup_is_auth_plus_one_query(api, other_api, register, settings, django_assert_num_queries):
    # the throttle counts in the cache: Redis in production, kept in memory here so only SQL is counted
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    card = issue_card(register)
    post(other_api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"})
    get(api, "health")
    get(api, f"gift-cards/{card.number}")
    with django_assert_num_queries(AUTH + 1):
        assert get(api, f"gift-cards/{card.number}").json()["lock"]["register"] == "REG2"


def test_an_idempotency_key_adds_only_its_row_insert_and_update(api, register, django_assert_num_queries):
    card = issue_card(register)
    get(api, f"gift-cards/{card.number}")
    body = {"transaction_id": "T1"}
    # outer savepoint + key savepoint/insert/release + the lock + update of the stored response
    with django_assert_num_queries(AUTH + ATOMIC + ATOMIC + 1 + service_queries() + 1):
        assert post(api, f"gift-cards/{card.number}/lock", body, **{"Idempotency-Key": "k1"}).status_code == 200


def test_balance_lookups_are_throttled_per_device(api, other_api, register, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"balance_lookup": "3/min"}}
    card, memo = issue_card(register), issue_memo(register)
    for path in (f"gift-cards/{card.number}", f"credit-memos/{memo.number}", "gift-cards/00000000"):
        get(api, path)
    throttled = problem(get(api, f"gift-cards/{card.number}"), 429, "throttled")
    assert throttled["detail"]
    problem(get(api, f"credit-memos/{memo.number}"), 429, "throttled")
    assert int(get(api, f"gift-cards/{card.number}")["Retry-After"]) > 0
    assert get(other_api, f"gift-cards/{card.number}").status_code == 200
    assert post(api, f"gift-cards/{card.number}/lock", {"transaction_id": "T1"}).status_code == 200


# (body, valid as TransactionInput, valid as MoneyMoveInput)
BODIES = [
    ({"transaction_id": "T1"}, True, False),
    ({"transaction_id": "T1", "staff_id": "S7", "ignored": [1]}, True, False),
    ({"transaction_id": "T1", "staff_id": "", "amount": "12.5", "currency": "USD"}, True, True),
    ({"transaction_id": "x" * 64, "amount": "1", "currency": "JPY"}, True, True),
    ({"transaction_id": "T1", "amount": "0.01", "currency": "JPY"}, True, False),
    ({"transaction_id": "T1", "amount": "1.001", "currency": "USD"}, True, False),
    ({"transaction_id": "T1", "amount": "1", "currency": "usd"}, True, False),
    ({"transaction_id": "T1", "amount": 1, "currency": "USD"}, True, False),
    ({"transaction_id": "T1", "amount": "0", "currency": "USD"}, True, False),
    ([], False, False),
    ({}, False, False),
    ({"transaction_id": ""}, False, False),
    ({"transaction_id": 5}, False, False),
    ({"transaction_id": "x" * 65}, False, False),
    ({"transaction_id": "T\x00"}, False, False),
    ({"transaction_id": None}, False, False),
    ({"transaction_id": "T1", "staff_id": "s" * 33}, False, False),
]


@pytest.mark.parametrize(("body", "transaction_ok", "money_ok"), BODIES)
def test_plain_validation_agrees_with_the_serializer_and_leaves_every_error_to_it(body, transaction_ok, money_ok):
    for serializer_class, valid in ((TransactionInput, transaction_ok), (MoneyMoveInput, money_ok)):
        # given what the serializer makes of the body
        serializer = serializer_class(data=body)
        assert serializer.is_valid() == valid
        # when / then: the same validated data, or None so that the serializer reports the error
        assert plain_validated(serializer_class, body) == (serializer.validated_data if valid else None)


def test_the_authenticated_device_is_loaded_as_the_orm_loads_it(device, django_assert_num_queries):
    # given the device as the ORM loads it, with its register and channel
    active, token = device
    expected = Device.objects.select_related("register__channel").get(pk=active.pk)
    # when
    with django_assert_num_queries(1):
        loaded = active_device(token)
        register, channel = loaded.register, loaded.register.channel
    # then every field of the three rows agrees
    for mine, theirs in ((loaded, expected), (register, expected.register), (channel, expected.register.channel)):
        fields = type(theirs)._meta.concrete_fields
        assert [getattr(mine, f.attname) for f in fields] == [getattr(theirs, f.attname) for f in fields]
    assert active_device(token + "x") is None
    device_deactivate(device=active)
    assert active_device(token) is None
