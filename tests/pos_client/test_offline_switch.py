"""The seamless switch against the fake HQ: lock online, lose the network, conclude offline
(or void), come back, upload, apply, and never debit twice."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pos_client import OfflineRefused, OfflineStore, PosClient
from pos_client.records import CONCLUDED_OFFLINE, REDEEMED_ONLINE, UNLOCK_QUEUED, Line
from pos_client.sale import offline_amount
from pos_client.store import SETTLED_ONLINE, UPLOADED


def test_an_online_sale_redeems_and_unlocks(hq, register):
    number = hq.new_card()
    sale = register.start_sale()
    line = sale.add_gift_card(number, "30.00")
    result = sale.conclude()
    assert not result.offline and line.state == REDEEMED_ONLINE and line.amount == "30.00"
    assert hq.items[number]["balance"] == Decimal("70.00") and hq.items[number]["lock"] is None


def test_network_lost_mid_sale_concludes_offline_for_what_was_locked(hq, register, offline_allowed):
    # given
    number = hq.new_card("20.00")
    register.parameters()
    sale = register.start_sale(staff_id="042")
    line = sale.add_gift_card(number, "35.00")
    # when
    register.transport.cut()
    result = sale.conclude()
    # then
    assert result.offline and line.state == CONCLUDED_OFFLINE and line.amount == "20.00"
    queued = register.store.offline_transactions("queued")
    assert [row["body"]["operations"] for row in queued] == [
        [{"type": "gift_card.redeem", "number": number, "amount": "20.00", "currency": "USD"}]
    ]
    assert queued[0]["body"]["staff_id"] == "042" and queued[0]["body"]["concluded_at"].endswith("Z")
    assert hq.items[number]["balance"] == Decimal("20.00") and hq.items[number]["lock"] is not None


def test_no_card_operation_is_started_offline(hq, register, offline_allowed):
    sale = register.start_sale()
    register.transport.cut()
    register.online = False
    with pytest.raises(OfflineRefused):
        sale.add_gift_card(hq.new_card())
    with pytest.raises(OfflineRefused):
        register.issue_gift_card(amount="10.00")
    assert hq.calls("POST", "/lock") == [] and sale.lines == []


def test_without_the_parameter_the_line_is_voided_and_an_unlock_queued(hq, register):
    number = hq.new_card()
    sale = register.start_sale()
    line = sale.add_gift_card(number, "30.00")
    register.transport.cut()
    result = sale.conclude()
    assert line.state == UNLOCK_QUEUED and line.amount is None
    assert result.queued_operations == [{"type": "gift_card.unlock", "number": number}]


def test_a_partial_memo_offline_carries_the_reserved_remainder_number(hq, register, offline_allowed):
    number = hq.new_memo("50.00")
    sale = register.start_sale()
    line = sale.add_credit_memo(number, "20.00")
    register.transport.cut()
    result = sale.conclude()
    assert line.remainder_number and line.remainder == line.remainder_number
    assert result.queued_operations[0]["remainder_number"] == line.remainder_number
    assert result.queued_operations[0]["type"] == "credit_memo.redeem"


def test_the_offline_limit_caps_the_transaction_total(hq, register, offline_allowed):
    hq.set_parameter("gift_card.offline_limit", "50.00")
    hq.distribute()
    first, second, third = hq.new_card(), hq.new_card(), hq.new_card()
    sale = register.start_sale()
    lines = [sale.add_gift_card(first, "40.00"), sale.add_gift_card(second, "30.00"), sale.add_gift_card(third, "5")]
    register.transport.cut()
    sale.conclude()
    assert [(x.state, x.amount) for x in lines] == [
        (CONCLUDED_OFFLINE, "40.00"),
        (CONCLUDED_OFFLINE, "10.00"),
        (UNLOCK_QUEUED, None),
    ]


@pytest.mark.parametrize(
    ("expires_at", "allowed"),
    [(datetime.now(UTC) - timedelta(minutes=1), False), (datetime.now(UTC) + timedelta(minutes=5), True)],
)
def test_an_expired_lock_is_never_concluded_offline(expires_at, allowed):
    line = Line("T1", 1, "gift_card", "6012000000000001", shown_balance="10.00", state="locked")
    line.lock_expires_at = expires_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    parameters = {"gift_card": {"allow_offline_conclusion": True, "offline_limit": None}}
    assert (offline_amount(line, parameters, Decimal(0)) is not None) is allowed


def test_reconnect_uploads_and_p0001_unlocks_and_debits_once(hq, register, offline_allowed):
    # given a sale concluded offline
    number = hq.new_card()
    sale = register.start_sale()
    sale.add_gift_card(number, "30.00")
    register.transport.cut()
    sale.conclude()
    # when the network is back
    register.transport.restore()
    assert register.try_online()
    hq.apply_uploads()
    statuses = register.poll(timeout=1, interval=0.01)
    # then
    assert statuses == {sale.transaction_id: "applied"}
    assert hq.debits(number) == [Decimal("30.00")] and hq.items[number]["lock"] is None
    row = register.store.offline_transactions(UPLOADED)[0]
    assert row["outcome"] == "accepted" and row["server_status"] == "applied"


def test_a_redeem_whose_answer_was_lost_is_not_debited_again(hq, register, offline_allowed):
    # given: HQ redeems, the answer is lost, the register concludes offline
    number = hq.new_card()
    sale = register.start_sale()
    line = sale.add_gift_card(number, "30.00")
    register.transport.lose_next("response")
    sale.conclude()
    assert line.state == CONCLUDED_OFFLINE and hq.debits(number) == [Decimal("30.00")]
    # when
    report = register.sync()
    hq.apply_uploads()
    # then
    assert report.settled_online and report.accepted == []
    assert hq.debits(number) == [Decimal("30.00")]
    assert register.store.lines()[0].state == REDEEMED_ONLINE
    assert register.store.offline_transactions()[0]["state"] == SETTLED_ONLINE


def test_a_redeem_that_never_arrived_is_uploaded(hq, register, offline_allowed):
    number = hq.new_card()
    sale = register.start_sale()
    sale.add_gift_card(number, "30.00")
    register.transport.lose_next("request")
    sale.conclude()
    report = register.sync()
    hq.apply_uploads()
    assert report.not_applied and report.accepted == [sale.transaction_id]
    assert hq.debits(number) == [Decimal("30.00")] and hq.items[number]["lock"] is None
    assert hq.uploads[("REG1", sale.transaction_id)]["exceptions"] == []


def test_a_lost_redeem_answer_with_the_parameter_off_is_found_and_logged(hq, register):
    # given: the redeem ran at HQ but the register, offline and not allowed, voided the line
    number = hq.new_card()
    sale = register.start_sale()
    line = sale.add_gift_card(number, "30.00")
    other = sale.add_gift_card(hq.new_card(), "5.00")
    register.transport.lose_next("response")
    sale.conclude()
    assert line.state == other.state == UNLOCK_QUEUED
    # when
    register.sync()
    hq.apply_uploads()
    # then: the register's log agrees with HQ, and only the other card's unlock was uploaded
    assert register.store.lines()[0].state == REDEEMED_ONLINE and hq.debits(number) == [Decimal("30.00")]
    uploaded = hq.uploads[("REG1", sale.transaction_id)]["body"]["operations"]
    assert uploaded == [{"type": "gift_card.unlock", "number": other.number}]
    assert hq.items[other.number]["lock"] is None


class Crash(BaseException):
    """The register process dies."""


class CrashAfterSending:
    """Lets HQ act on the first call whose path contains ``part``, then kills the register."""

    def __init__(self, inner, part: str) -> None:
        self.inner, self.part = inner, part

    def request(self, method, path, **kwargs):
        reply = self.inner.request(method, path, **kwargs)
        if self.part in path:
            raise Crash
        return reply


def test_a_sale_resumed_after_a_crash_reuses_its_keys(hq, register, offline_allowed):
    # given: the register dies right after HQ redeemed
    number = hq.new_card()
    sale = register.start_sale()
    sale.add_gift_card(number, "30.00")
    register.transport = CrashAfterSending(register.transport, "/redeem")
    with pytest.raises(Crash):
        sale.conclude()
    # when it restarts from its offline database
    restarted = PosClient(OfflineStore(register.store.path), register.transport.inner)
    resumed = restarted.resume_sale(sale.transaction_id)
    result = resumed.conclude()
    # then the redeem was sent again with the same key and replayed, not debited twice
    redeems = hq.calls("POST", f"{number}/redeem")
    assert not result.offline and resumed.lines[0].state == REDEEMED_ONLINE
    assert len(redeems) == 2 and len({c[2]["Idempotency-Key"] for c in redeems}) == 1
    assert hq.debits(number) == [Decimal("30.00")]
