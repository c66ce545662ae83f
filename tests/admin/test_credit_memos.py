from decimal import Decimal

from django.urls import reverse

from commerce_hq.stored_value import services
from commerce_hq.stored_value.models import AuditEvent, CreditMemo, LedgerEntry
from tests.admin.conftest import action_post, confirm_post, messages_of

LIST = reverse("admin:stored_value_creditmemo_changelist")


def test_list_shows_amounts_remainder_links_and_reserved_number(admin_client, memo, register):
    # given: one memo partly applied (so it has a remainder), a second one locked
    services.credit_memo_redeem(
        number=memo.number,
        actor=services.Actor.pos(register),
        transaction_id="T-1",
        amount=Decimal("30"),
        currency="USD",
    )
    remainder = CreditMemo.objects.get(remainder_of=memo)
    locked = services.credit_memo_lock(number=remainder.number, register=register, transaction_id="T-2")
    # when
    html = admin_client.get(LIST).content.decode()
    # then
    assert memo.number not in html and remainder.number not in html
    assert "50.00 USD" in html and "30.00 USD" in html and "20.00 USD" in html
    assert reverse("admin:stored_value_creditmemo_change", args=[remainder.pk]) in html
    assert reverse("admin:stored_value_creditmemo_change", args=[memo.pk]) in html
    assert "STORE1 / REG1 / T-2" in html
    assert "…" + locked.lock_remainder_number[-4:] in html
    assert locked.lock_remainder_number not in html


def test_search_by_last_four(admin_client, memo):
    found = admin_client.get(LIST, {"q": memo.number[-4:]}).context["cl"].result_list
    assert list(found) == [memo]


def test_void_with_reason(admin_client, admin_user, memo):
    # when
    response = confirm_post(admin_client, LIST, "void", memo, reason="issued by mistake")
    # then
    assert response.status_code == 302
    memo.refresh_from_db()
    assert (memo.status, memo.balance) == ("voided", 0)
    event = AuditEvent.objects.get(credit_memo=memo)
    assert (event.action, event.user, event.reason) == ("voided", admin_user, "issued by mistake")
    assert LedgerEntry.objects.filter(credit_memo=memo, operation="void", amount=Decimal("-50")).exists()


def test_void_without_reason_voids_nothing(admin_client, memo):
    # when
    first = action_post(admin_client, LIST, "void", memo)
    empty = confirm_post(admin_client, LIST, "void", memo, reason="")
    # then
    assert 'id="reason-form"' in first.content.decode()
    assert "This field is required." in empty.content.decode()
    memo.refresh_from_db()
    assert memo.status == "open"


def test_void_of_a_locked_memo_is_refused_with_a_message(admin_client, memo, register):
    # given
    services.credit_memo_lock(number=memo.number, register=register, transaction_id="T-3")
    # when
    response = confirm_post(admin_client, LIST, "void", memo, reason="mistake")
    # then
    memo.refresh_from_db()
    assert memo.status == "open" and memo.is_locked
    assert any("in use at store STORE1" in m for m in messages_of(admin_client.get(response["Location"])))


def test_void_page_for_one_memo(admin_client, memo):
    url = reverse("admin:stored_value_creditmemo_void", args=[memo.pk])
    response = admin_client.post(url, {"reason": "duplicate"})
    memo.refresh_from_db()
    assert response.status_code == 302 and memo.status == "voided"


def test_release_memo_lock_drops_the_reservation(admin_client, memo, register):
    # given
    locked = services.credit_memo_lock(number=memo.number, register=register, transaction_id="T-4")
    # when
    confirm_post(admin_client, LIST, "release_lock", locked, reason="register offline for good")
    # then
    memo.refresh_from_db()
    assert not memo.is_locked and memo.lock_remainder_number == ""
    assert AuditEvent.objects.get(credit_memo=memo).action == "lock_released"


def test_detail_shows_ledger_and_void_link(admin_client, memo):
    html = admin_client.get(reverse("admin:stored_value_creditmemo_change", args=[memo.pk])).content.decode()
    assert html.count('class="ledger-entry"') == 1 and "50.00 USD" in html
    assert reverse("admin:stored_value_creditmemo_void", args=[memo.pk]) in html
    assert memo.number not in html
