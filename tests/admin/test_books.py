from decimal import Decimal

import pytest
from django.urls import reverse

from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import ShortfallEntry


@pytest.fixture
def books(card, register):
    services.gift_card_redeem(
        number=card.number,
        actor=services.Actor.pos(register),
        transaction_id="T-77",
        amount=Decimal("40"),
        currency="USD",
    )
    services.gift_card_set_blocked(number=card.number, blocked=True, reason="fraud check")
    ShortfallEntry.objects.create(
        gift_card=card,
        amount=Decimal("7.5"),
        currency="USD",
        channel=register.channel,
        register=register,
        transaction_id="T-88",
    )
    return card


@pytest.mark.parametrize(
    ("name", "expected"),
    [("ledgerentry", "-40.00 USD"), ("shortfallentry", "7.50 USD"), ("auditevent", "fraud check")],
)
def test_read_only_lists_show_masked_accounts(admin_client, books, name, expected):
    # when
    html = admin_client.get(reverse(f"admin:stored_value_{name}_changelist")).content.decode()
    # then
    assert expected in html and "…2222" in html and books.number not in html
    assert admin_client.get(reverse(f"admin:stored_value_{name}_add")).status_code == 403


def test_ledger_filters(admin_client, books):
    url = reverse("admin:stored_value_ledgerentry_changelist")
    redeems = admin_client.get(url, {"operation__exact": "redeem"}).context["cl"].result_list
    by_transaction = admin_client.get(url, {"q": "T-77"}).context["cl"].result_list
    offline = admin_client.get(url, {"origin__exact": "offline"}).context["cl"].result_list
    assert [e.transaction_id for e in redeems] == ["T-77"]
    assert [e.operation for e in by_transaction] == ["redeem"]
    assert list(offline) == []


def test_audit_filter_by_action(admin_client, books):
    url = reverse("admin:stored_value_auditevent_changelist")
    assert len(admin_client.get(url, {"action__exact": "blocked"}).context["cl"].result_list) == 1
    assert len(admin_client.get(url, {"action__exact": "voided"}).context["cl"].result_list) == 0
