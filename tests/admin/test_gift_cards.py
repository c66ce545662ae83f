from decimal import Decimal

from django.urls import reverse

from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import AuditEvent, GiftCard
from tests.admin.conftest import action_post, confirm_post, messages_of
from tests.factories import issue_card

LIST = reverse("admin:stored_value_giftcard_changelist")


def change_url(card):
    return reverse("admin:stored_value_giftcard_change", args=[card.pk])


def test_list_masks_numbers_and_shows_balance_and_lock_owner(admin_client, locked_card):
    # when
    response = admin_client.get(LIST)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert locked_card.number not in html
    assert "…2222" in html
    assert "100.00 USD" in html
    assert "STORE1 / REG1 / T-LOCK" in html
    assert "0 min" in html


def test_search_by_full_number_or_last_four(admin_client, card, register):
    # given
    other = issue_card(register, "5.00", number="6012000099993333")
    # when
    by_full = admin_client.get(LIST, {"q": card.number})
    by_last_four = admin_client.get(LIST, {"q": "3333"})
    by_masked = admin_client.get(LIST, {"q": "…2222"})
    by_partial = admin_client.get(LIST, {"q": "601200"})
    # then
    assert list(by_full.context["cl"].result_list) == [card]
    assert list(by_last_four.context["cl"].result_list) == [other]
    assert list(by_masked.context["cl"].result_list) == [card]
    assert list(by_partial.context["cl"].result_list) == []


def test_filters_status_locked_and_currency(admin_client, locked_card, register):
    # given
    free = issue_card(register, "5.00", number="6012000099993333")
    services.gift_card_set_blocked(number=free.number, blocked=True)
    # when
    locked = admin_client.get(LIST, {"locked": "yes"}).context["cl"].result_list
    unlocked = admin_client.get(LIST, {"locked": "no"}).context["cl"].result_list
    blocked = admin_client.get(LIST, {"status__exact": "blocked"}).context["cl"].result_list
    eur = admin_client.get(LIST, {"currency": "EUR"}).context["cl"].result_list
    # then
    assert [c.pk for c in locked] == [locked_card.pk]
    assert [c.pk for c in unlocked] == [free.pk]
    assert [c.pk for c in blocked] == [free.pk]
    assert list(eur) == []


def test_detail_shows_ledger_and_audit_read_only(admin_client, card, register):
    # given
    services.gift_card_redeem(
        number=card.number,
        actor=services.Actor.pos(register, staff_id="S7"),
        transaction_id="T-9",
        amount=Decimal("12.50"),
        currency="USD",
    )
    services.gift_card_set_blocked(number=card.number, blocked=True, reason="lost card")
    # when
    response = admin_client.get(change_url(card))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert card.number not in html
    assert html.count('class="ledger-entry"') == 2
    assert "-12.50 USD" in html and "87.50 USD" in html and "T-9" in html and "S7" in html
    assert 'class="audit-event"' in html and "lost card" in html
    assert 'name="_save"' not in html


def test_no_add_edit_or_delete(admin_client, card):
    # when
    add = admin_client.get(reverse("admin:stored_value_giftcard_add"))
    edit = admin_client.post(change_url(card), {"balance": "9999", "number": "1"})
    delete = admin_client.post(reverse("admin:stored_value_giftcard_delete", args=[card.pk]), {"post": "yes"})
    # then
    assert (add.status_code, edit.status_code, delete.status_code) == (403, 403, 403)
    card.refresh_from_db()
    assert card.balance == 100 and card.number == "6012000011112222"


def test_release_lock_asks_for_a_reason_first(admin_client, locked_card):
    # when
    response = action_post(admin_client, LIST, "release_lock", locked_card)
    # then
    assert response.status_code == 200
    assert 'id="reason-form"' in response.content.decode()
    locked_card.refresh_from_db()
    assert locked_card.is_locked


def test_release_lock_without_reason_releases_nothing(admin_client, locked_card):
    # when
    response = confirm_post(admin_client, LIST, "release_lock", locked_card, reason="   ")
    # then
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    locked_card.refresh_from_db()
    assert locked_card.is_locked
    assert not AuditEvent.objects.exists()


def test_release_lock_with_reason_unlocks_and_audits(admin_client, admin_user, locked_card):
    # when
    response = confirm_post(admin_client, LIST, "release_lock", locked_card, reason="register broke down")
    # then
    assert response.status_code == 302
    locked_card.refresh_from_db()
    assert not locked_card.is_locked
    event = AuditEvent.objects.get(gift_card=locked_card)
    assert (event.action, event.user, event.reason) == ("lock_released", admin_user, "register broke down")
    assert event.lock_transaction_id == "T-LOCK"
    followed = admin_client.get(LIST)
    assert "Released the lock on 1 gift card(s)." in messages_of(followed)


def test_release_lock_refuses_a_lock_taken_since_the_form_was_shown(admin_client, locked_card):
    # given: the form was shown for another lock owner
    stale = {locked_card.pk: f"{locked_card.lock_register_id}:T-OLD"}
    # when
    response = confirm_post(admin_client, LIST, "release_lock", locked_card, reason="stuck", stamps=stale)
    # then
    locked_card.refresh_from_db()
    assert locked_card.is_locked
    assert any("lock changed" in m for m in messages_of(admin_client.get(LIST)))
    assert response.status_code == 302


def test_release_lock_page_for_one_card_returns_to_next(admin_client, locked_card):
    # given
    url = reverse("admin:stored_value_giftcard_release_lock", args=[locked_card.pk])
    back = reverse("admin:stored_value_stuck_locks") + "?minutes=0"
    # when
    form = admin_client.get(url, {"next": back})
    done = admin_client.post(
        f"{url}?next={back}",
        {"reason": "customer waiting", f"lock_{locked_card.pk}": f"{locked_card.lock_register_id}:T-LOCK"},
    )
    # then
    assert form.status_code == 200 and "…2222" in form.content.decode()
    assert done.status_code == 302 and done["Location"] == back
    locked_card.refresh_from_db()
    assert not locked_card.is_locked


def test_release_lock_page_ignores_an_offsite_next(admin_client, locked_card):
    url = reverse("admin:stored_value_giftcard_release_lock", args=[locked_card.pk])
    stamp = {f"lock_{locked_card.pk}": f"{locked_card.lock_register_id}:T-LOCK"}
    done = admin_client.post(f"{url}?next=https://evil.example/", {"reason": "r", **stamp})
    assert done["Location"] == change_url(locked_card)


def test_block_and_unblock(admin_client, admin_user, card):
    # when
    action_post(admin_client, LIST, "block", card)
    card.refresh_from_db()
    blocked_status = card.status
    action_post(admin_client, LIST, "unblock", card)
    # then
    card.refresh_from_db()
    assert (blocked_status, card.status) == ("blocked", "active")
    actions = list(
        AuditEvent.objects.filter(gift_card=card, user=admin_user).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["blocked", "unblocked"]


def test_block_of_a_closed_card_reports_the_refusal(admin_client, card):
    # given
    GiftCard.objects.filter(pk=card.pk).update(status="closed")
    # when
    response = action_post(admin_client, LIST, "block", card)
    # then
    card.refresh_from_db()
    assert card.status == "closed"
    assert any("is closed" in m for m in messages_of(admin_client.get(response["Location"])))
