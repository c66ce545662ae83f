from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from commerce_hq.parameters.models import ParameterVersion
from commerce_hq.parameters.services import InvalidParameter, parameters_get, parameters_update

pytestmark = pytest.mark.django_db


def test_first_use_makes_version_1_with_every_switch_off(channel):
    params = parameters_get(legal_entity=channel.legal_entity)
    assert params.version == 1
    assert not params.gift_card_allow_offline_conclusion and not params.credit_memo_allow_offline_conclusion
    assert ParameterVersion.objects.get().source == "initial"


def test_each_change_is_a_new_audited_version(channel):
    user = get_user_model().objects.create_user("pm")
    version = parameters_update(
        legal_entity=channel.legal_entity,
        changes={"gift_card.allow_offline_conclusion": "yes", "gift_card.offline_limit": "500"},
        changed_by=user,
    )
    assert version.version == 2 and version.changed_by == user
    assert version.changes == {
        "gift_card.allow_offline_conclusion": [False, True],
        "gift_card.offline_limit": [None, "500"],
    }
    assert version.snapshot["gift_card"]["offline_limit"] == "500.00"
    assert version.snapshot["gift_card"]["allow_offline_conclusion"] is True


def test_an_unchanged_value_makes_no_version(channel):
    parameters_update(legal_entity=channel.legal_entity, changes={"credit_memo.lock_timeout_minutes": "30"})
    assert (
        parameters_update(legal_entity=channel.legal_entity, changes={"credit_memo.lock_timeout_minutes": 30}) is None
    )
    assert parameters_get(legal_entity=channel.legal_entity).version == 2


def test_none_clears_a_limit(channel):
    parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.max_balance": "2000"})
    parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.max_balance": "none"})
    params = parameters_get(legal_entity=channel.legal_entity)
    assert params.gift_card_max_balance is None and params.version == 3


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("gift_card.nope", "1"),
        ("gift_card.allow_offline_conclusion", "maybe"),
        ("gift_card.offline_limit", "-1"),
        ("gift_card.offline_limit", "0"),
        ("gift_card.lock_timeout_minutes", "0"),
        ("credit_memo.lock_timeout_minutes", "ten"),
    ],
)
def test_bad_names_and_values_change_nothing(channel, key, value):
    with pytest.raises(InvalidParameter):
        parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.max_balance": "10", key: value})
    params = parameters_get(legal_entity=channel.legal_entity)
    assert params.version == 1 and params.gift_card_max_balance is None


def test_limits_are_decimals(channel):
    parameters_update(legal_entity=channel.legal_entity, changes={"credit_memo.offline_limit": "99.95"})
    assert parameters_get(legal_entity=channel.legal_entity).credit_memo_offline_limit == Decimal("99.95")


def test_a_change_made_on_an_older_version_is_refused(channel):
    from commerce_hq.parameters.services import StaleParameters

    parameters_update(legal_entity=channel.legal_entity, changes={"gift_card.max_balance": "100"})
    with pytest.raises(StaleParameters):
        parameters_update(
            legal_entity=channel.legal_entity, changes={"gift_card.max_balance": "200"}, expected_version=1
        )
    assert parameters_get(legal_entity=channel.legal_entity).gift_card_max_balance == Decimal("100")
