import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from commerce_hq.parameters.models import CommerceParameters, ParameterVersion
from commerce_hq.parameters.services import parameters_get, parameters_update
from pos_api.channel_db.models import DistributedParameters
from pos_api.channel_db.selectors import NOT_YET_DISTRIBUTED
from tests.admin.conftest import messages_of, staff_client
from tests.factories import ChannelFactory, LegalEntityFactory

FORM = {
    "version": "1",
    "gift_card_product": "GIFTCARD",
    "gift_card_lock_timeout_minutes": "",
    "gift_card_offline_limit": "",
    "gift_card_max_balance": "",
    "credit_memo_lock_timeout_minutes": "",
    "credit_memo_offline_limit": "",
}


@pytest.fixture
def entity(db):
    return LegalEntityFactory()


def page(entity):
    return reverse("admin:parameters_commerceparameters_legal_entity", args=[entity.pk])


def test_list_links_every_legal_entity(admin_client, entity):
    # given
    other = LegalEntityFactory(code="NORD", name="Nord AS", currency="NOK")
    # when
    html = admin_client.get(reverse("admin:parameters_commerceparameters_changelist")).content.decode()
    # then
    assert page(entity) in html and page(other) in html and "NOK" in html


def test_page_has_tabs_fasttabs_switches_and_history(admin_client, entity):
    # when
    response = admin_client.get(page(entity))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    for element in (
        "tab-general",
        "tab-posting",
        "panel-posting",
        "fasttab-gift-card-toggle",
        "fasttab-credit-memo-body",
    ):
        assert f'id="{element}"' in html
    assert "Allow concluding gift card transactions in offline mode" in html
    assert "Allow concluding credit memo transactions in offline mode" in html
    assert 'class="switch"' in html and 'role="switch"' in html
    assert 'id="version-1"' in html and "initial settings" in html
    assert 'id="cp-save"' in html


def test_save_makes_a_new_version_through_the_service(admin_client, admin_user, entity):
    # given
    data = {**FORM, "gift_card_allow_offline_conclusion": "on", "gift_card_offline_limit": "500.00"}
    # when
    response = admin_client.post(page(entity), data)
    # then
    assert response.status_code == 302 and response["Location"] == page(entity) + "#posting"
    saved = ParameterVersion.objects.get(legal_entity=entity, version=2)
    assert (saved.changed_by, saved.source) == (admin_user, "admin")
    assert saved.changes == {
        "gift_card.allow_offline_conclusion": [False, True],
        "gift_card.offline_limit": [None, "500"],
    }
    params = CommerceParameters.objects.get(legal_entity=entity)
    assert params.gift_card_allow_offline_conclusion and params.version == 2
    followed = admin_client.get(page(entity))
    assert any("Saved version 2" in m and "job 1110" in m for m in messages_of(followed))
    html = followed.content.decode()
    assert 'id="version-2"' in html and "Allow concluding gift card transactions in offline mode: No → Yes" in html


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("gift_card_lock_timeout_minutes", "0", "greater than or equal to 1"),
        ("credit_memo_lock_timeout_minutes", "20000", "less than or equal to 10080"),
        ("gift_card_offline_limit", "-5", "greater than zero"),
        ("gift_card_max_balance", "abc", "Enter a number."),
        ("credit_memo_offline_limit", "10.555", "USD amounts have at most 2 decimals."),
        ("gift_card_product", "X" * 41, "at most 40 characters"),
        ("version", "", "does not say which version"),
    ],
)
def test_invalid_input_is_shown_and_nothing_saved(admin_client, entity, field, value, error):
    # given
    data = {**FORM, "gift_card_allow_offline_conclusion": "on", field: value}
    # when
    response = admin_client.post(page(entity), data)
    # then
    assert response.status_code == 200
    assert error in response.content.decode()
    assert ParameterVersion.objects.filter(legal_entity=entity).count() == 1
    assert not parameters_get(legal_entity=entity).gift_card_allow_offline_conclusion


def test_a_form_opened_on_an_older_version_saves_nothing(admin_client, entity):
    # given: someone saved version 2 after this form was opened on version 1
    parameters_update(legal_entity=entity, changes={"credit_memo.allow_offline_conclusion": True})
    # when
    response = admin_client.post(page(entity), {**FORM, "gift_card_allow_offline_conclusion": "on"})
    # then
    assert "Someone saved version 2" in response.content.decode()
    params = parameters_get(legal_entity=entity)
    assert params.version == 2 and params.credit_memo_allow_offline_conclusion
    assert not params.gift_card_allow_offline_conclusion


def test_saving_unchanged_values_makes_no_version(admin_client, entity):
    response = admin_client.post(page(entity), FORM, follow=True)
    assert any("Nothing changed" in m for m in messages_of(response))
    assert ParameterVersion.objects.filter(legal_entity=entity).count() == 1


def test_parameter_manager_may_save(entity):
    # given
    client, user = staff_client("manager", groups=["Parameter managers"])
    # when
    response = client.post(page(entity), {**FORM, "credit_memo_allow_offline_conclusion": "on"})
    # then
    assert response.status_code == 302
    assert ParameterVersion.objects.get(legal_entity=entity, version=2).changed_by == user


def test_viewer_sees_a_read_only_page_and_cannot_post(viewer, entity):
    # given
    client, _ = viewer
    # when
    shown = client.get(page(entity))
    forged = client.post(page(entity), {**FORM, "gift_card_allow_offline_conclusion": "on"})
    # then
    html = shown.content.decode()
    assert shown.status_code == 200 and 'id="cp-readonly"' in html and 'id="cp-save"' not in html
    assert 'name="gift_card_allow_offline_conclusion" class="switch" role="switch" disabled' in html
    assert forged.status_code == 403
    assert parameters_get(legal_entity=entity).version == 1


def test_model_change_permission_alone_does_not_allow_saving(entity):
    client, _ = staff_client("half", permissions=["parameters.change_commerceparameters"])
    forged = client.post(page(entity), {**FORM, "gift_card_allow_offline_conclusion": "on"})
    assert forged.status_code == 403
    assert parameters_get(legal_entity=entity).version == 1


def test_staff_without_parameter_permissions_is_refused(entity):
    client, _ = staff_client("nobody")
    assert client.get(page(entity)).status_code == 403
    assert client.get(reverse("admin:parameters_commerceparameters_changelist")).status_code == 403


def test_plain_change_url_leads_to_the_page(admin_client, entity):
    params = parameters_get(legal_entity=entity)
    response = admin_client.get(reverse("admin:parameters_commerceparameters_change", args=[params.pk]))
    assert response.status_code == 302 and response["Location"] == page(entity)


def test_unknown_legal_entity_is_not_found(admin_client, db):
    response = admin_client.get(reverse("admin:parameters_commerceparameters_legal_entity", args=[999]))
    assert response.status_code == 404


def test_distribution_tab_queries_the_same_for_more_stores(admin_client, entity):
    # given
    ChannelFactory(legal_entity=entity, code="STORE1")
    admin_client.get(page(entity))  # the first visit creates the parameters
    with CaptureQueriesContext(connection) as one_store:
        admin_client.get(page(entity))
    # when
    for code in ("STORE2", "STORE3"):
        DistributedParameters.objects.create(
            channel=ChannelFactory(legal_entity=entity, code=code),
            version=1,
            payload=NOT_YET_DISTRIBUTED,
            distributed_at=timezone.now(),
        )
    with CaptureQueriesContext(connection) as three_stores:
        html = admin_client.get(page(entity)).content.decode()
    # then
    assert len(three_stores) == len(one_store)
    assert html.count("up to date") == 2 and "not yet distributed" in html
