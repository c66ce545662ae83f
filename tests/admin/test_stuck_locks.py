from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from commerce_hq.stored_value import services
from commerce_hq.stored_value.admin_views import lock_age
from commerce_hq.stored_value.models import CreditMemo, GiftCard
from tests.admin.conftest import staff_client
from tests.factories import RegisterFactory, issue_card, issue_memo

URL = reverse("admin:stored_value_stuck_locks")


def lock_card(register, number: str, minutes_ago: int) -> GiftCard:
    card = issue_card(register, "10.00", number=number)
    services.gift_card_lock(number=number, register=register, transaction_id=f"T-{number[-4:]}")
    GiftCard.objects.filter(pk=card.pk).update(locked_at=timezone.now() - timedelta(minutes=minutes_ago))
    card.refresh_from_db()
    return card


@pytest.fixture
def locks(register, other_register):
    """A card locked 40 min ago at REG2, a memo 20 min ago at REG1, a card 5 min ago at REG1."""
    old = lock_card(other_register, "6012000000004040", 40)
    memo = issue_memo(register, "25.00")
    services.credit_memo_lock(number=memo.number, register=register, transaction_id="T-MEMO")
    CreditMemo.objects.filter(pk=memo.pk).update(locked_at=timezone.now() - timedelta(minutes=20))
    recent = lock_card(register, "6012000000000505", 5)
    return old, memo, recent


def masked_rows(response) -> list[list[str]]:
    return [[row["masked"] for row in group["rows"]] for group in response.context["groups"]]


def test_default_threshold_groups_by_register_oldest_first(admin_client, locks):
    # given
    _old, memo, _recent = locks
    # when
    response = admin_client.get(URL)
    # then
    assert response.context["minutes"] == 15
    assert [group["register"].code for group in response.context["groups"]] == ["REG2", "REG1"]
    assert masked_rows(response) == [["…4040"], ["…" + memo.number[-4:]]]
    html = response.content.decode()
    assert "40 min" in html and "20 min" in html and "T-MEMO" in html
    assert html.count("release-link") == 2


def test_threshold_from_the_query(admin_client, locks):
    _old, memo, _recent = locks
    assert masked_rows(admin_client.get(URL, {"minutes": "30"})) == [["…4040"]]
    everything = admin_client.get(URL, {"minutes": "0"})
    assert masked_rows(everything) == [["…4040"], ["…" + memo.number[-4:], "…0505"]]


def test_bad_threshold_shows_an_error_and_uses_the_default(admin_client, locks):
    response = admin_client.get(URL, {"minutes": "soon"})
    assert response.status_code == 200 and response.context["minutes"] == 15
    assert "Enter a whole number." in response.content.decode()
    assert admin_client.get(URL, {"minutes": "-3"}).context["minutes"] == 15


def test_release_link_goes_to_the_reason_form_and_back(admin_client, locks):
    # given
    old = locks[0]
    response = admin_client.get(URL)
    release_url = response.context["groups"][0]["rows"][0]["release_url"]
    # when
    form = admin_client.get(release_url)
    done = admin_client.post(
        release_url, {"reason": "register REG2 replaced", f"lock_{old.pk}": f"{old.lock_register_id}:T-4040"}
    )
    # then
    assert 'id="reason-form"' in form.content.decode()
    assert done.status_code == 302 and done["Location"] == URL
    old.refresh_from_db()
    assert not old.is_locked


def test_viewer_sees_locks_without_release_links(viewer, locks):
    client, _ = viewer
    html = client.get(URL).content.decode()
    assert "…4040" in html and "release-link" not in html


def test_operator_without_memo_view_sees_only_cards(locks):
    client, _ = staff_client("cards-only", permissions=["stored_value.view_giftcard"])
    response = client.get(URL, {"minutes": "0"})
    assert [row["kind"] for group in response.context["groups"] for row in group["rows"]] == ["Gift card", "Gift card"]


def test_staff_without_card_permissions_is_refused(db):
    client, _ = staff_client("nobody")
    assert client.get(URL).status_code == 403


def test_linked_from_the_index_and_the_gift_card_list(admin_client, db):
    assert URL in admin_client.get(reverse("admin:index")).content.decode()
    assert URL in admin_client.get(reverse("admin:stored_value_giftcard_changelist")).content.decode()


def test_lock_age_wording():
    now = timezone.now()
    assert lock_age(now - timedelta(minutes=7), now) == "7 min"
    assert lock_age(now - timedelta(minutes=65), now) == "1 h 05 min"
    assert lock_age(now - timedelta(days=2, hours=3), now) == "2 d 3 h"
    assert lock_age(None, now) == ""


def test_three_registers_order_by_their_oldest_lock(admin_client, register):
    # given
    third = RegisterFactory(channel=register.channel, code="REG3")
    lock_card(register, "6012000000000001", 20)
    lock_card(third, "6012000000000002", 60)
    lock_card(register, "6012000000000003", 90)
    # when
    response = admin_client.get(URL)
    # then
    assert [group["register"].code for group in response.context["groups"]] == ["REG1", "REG3"]
    assert masked_rows(response) == [["…0003", "…0001"], ["…0002"]]
