"""The seamless switch against the fake HQ: lock online, lose the network, conclude offline
(or void), come back, upload, apply, and never debit twice."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from pos_client import OfflineRefused, OfflineStore, PosClient, Unreachable
from pos_client.records import CONCLUDED_OFFLINE, REDEEMED_ONLINE, UNLOCK_QUEUED, Line
from pos_client.sale import offline_amount
from pos_client.store import SETTLED_ONLINE, UPLOADED


def test_an_online_sale_redeems_and_unlocks(fake_hq, till):
    number = fake_hq.new_card()
    sale = till.start_sale()
    line = sale.add_gift_card(number, "30.00")
    result = sale.conclude()
    assert not result.offline and line.state == REDEEMED_ONLINE and line.amount == "30.00"
    assert fake_hq.items[number]["balance"] == Decimal("70.00") and fake_hq.items[number]["lock"] is None


def test_network_lost_mid_sale_concludes_offline_for_what_was_locked(fake_hq, till, offline_allowed):
    # given
    number = fake_hq.new_card("20.00")
    till.parameters()
    sale = till.start_sale(staff_id="042")
    line = sale.add_gift_card(number, "35.00")
    # when
    till.transport.cut()
    result = sale.conclude()
    # then
    assert result.offline and line.state == CONCLUDED_OFFLINE and line.amount == "20.00"
    queued = till.store.offline_transactions("queued")
    assert [row["body"]["operations"] for row in queued] == [
        [{"type": "gift_card.redeem", "number": number, "amount": "20.00", "currency": "USD"}]
    ]
    assert queued[0]["body"]["staff_id"] == "042" and queued[0]["body"]["concluded_at"].endswith("Z")
    assert fake_hq.items[number]["balance"] == Decimal("20.00") and fake_hq.items[number]["lock"] is not None


def test_no_card_operation_is_started_offline(fake_hq, till, offline_allowed):
    sale = till.start_sale()
    till.transport.cut()
    till.online = False
    with pytest.raises(OfflineRefused):
        sale.add_gift_card(fake_hq.new_card())
    with pytest.raises(OfflineRefused):
        till.issue_gift_card(amount="10.00")
    assert fake_hq.calls("POST", "/lock") == [] and sale.lines == []


def test_without_the_parameter_the_line_is_voided_and_an_unlock_queued(fake_hq, till):
    number = fake_hq.new_card()
    sale = till.start_sale()
    line = sale.add_gift_card(number, "30.00")
    till.transport.cut()
    result = sale.conclude()
    assert line.state == UNLOCK_QUEUED and line.amount is None
    assert result.queued_operations == [{"type": "gift_card.unlock", "number": number}]


def test_a_partial_memo_offline_carries_the_reserved_remainder_number(fake_hq, till, offline_allowed):
    number = fake_hq.new_memo("50.00")
    sale = till.start_sale()
    line = sale.add_credit_memo(number, "20.00")
    till.transport.cut()
    result = sale.conclude()
    assert line.remainder_number and line.remainder == line.remainder_number
    assert result.queued_operations[0]["remainder_number"] == line.remainder_number
    assert result.queued_operations[0]["type"] == "credit_memo.redeem"


def test_the_offline_limit_caps_the_transaction_total(fake_hq, till, offline_allowed):
    fake_hq.set_parameter("gift_card.offline_limit", "50.00")
    fake_hq.distribute()
    first, second, third = fake_hq.new_card(), fake_hq.new_card(), fake_hq.new_card()
    sale = till.start_sale()
    lines = [sale.add_gift_card(first, "40.00"), sale.add_gift_card(second, "30.00"), sale.add_gift_card(third, "5")]
    till.transport.cut()
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


def test_reconnect_uploads_and_p0001_unlocks_and_debits_once(fake_hq, till, offline_allowed):
    # given a sale concluded offline
    number = fake_hq.new_card()
    sale = till.start_sale()
    sale.add_gift_card(number, "30.00")
    till.transport.cut()
    sale.conclude()
    # when the network is back
    till.transport.restore()
    assert till.try_online()
    fake_hq.apply_uploads()
    statuses = till.poll(timeout=1, interval=0.01)
    # then
    assert statuses == {sale.transaction_id: "applied"}
    assert fake_hq.debits(number) == [Decimal("30.00")] and fake_hq.items[number]["lock"] is None
    row = till.store.offline_transactions(UPLOADED)[0]
    assert row["outcome"] == "accepted" and row["server_status"] == "applied"


def test_a_redeem_whose_answer_was_lost_is_not_debited_again(fake_hq, till, offline_allowed):
    # given: HQ redeems, the answer is lost, the register concludes offline
    number = fake_hq.new_card()
    sale = till.start_sale()
    line = sale.add_gift_card(number, "30.00")
    till.transport.lose_next("response")
    sale.conclude()
    assert line.state == CONCLUDED_OFFLINE and fake_hq.debits(number) == [Decimal("30.00")]
    # when
    report = till.sync()
    fake_hq.apply_uploads()
    # then
    assert report.settled_online and report.accepted == []
    assert fake_hq.debits(number) == [Decimal("30.00")]
    assert till.store.lines()[0].state == REDEEMED_ONLINE
    assert till.store.offline_transactions()[0]["state"] == SETTLED_ONLINE


def test_a_redeem_that_never_arrived_is_uploaded(fake_hq, till, offline_allowed):
    number = fake_hq.new_card()
    sale = till.start_sale()
    sale.add_gift_card(number, "30.00")
    till.transport.lose_next("request")
    sale.conclude()
    report = till.sync()
    fake_hq.apply_uploads()
    assert report.not_applied and report.accepted == [sale.transaction_id]
    assert fake_hq.debits(number) == [Decimal("30.00")] and fake_hq.items[number]["lock"] is None
    assert fake_hq.uploads[("REG1", sale.transaction_id)]["exceptions"] == []


def test_a_lost_redeem_answer_with_the_parameter_off_is_found_and_logged(fake_hq, till):
    # given: the redeem ran at HQ but the register, offline and not allowed, voided the line
    number = fake_hq.new_card()
    sale = till.start_sale()
    line = sale.add_gift_card(number, "30.00")
    other = sale.add_gift_card(fake_hq.new_card(), "5.00")
    till.transport.lose_next("response")
    sale.conclude()
    assert line.state == other.state == UNLOCK_QUEUED
    # when
    till.sync()
    fake_hq.apply_uploads()
    # then: the register's log agrees with HQ, and only the other card's unlock was uploaded
    assert till.store.lines()[0].state == REDEEMED_ONLINE and fake_hq.debits(number) == [Decimal("30.00")]
    uploaded = fake_hq.uploads[("REG1", sale.transaction_id)]["body"]["operations"]
    assert uploaded == [{"type": "gift_card.unlock", "number": other.number}]
    assert fake_hq.items[other.number]["lock"] is None


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


def test_a_sale_resumed_after_a_crash_reuses_its_keys(fake_hq, till, offline_allowed):
    # given: the register dies right after HQ redeemed
    number = fake_hq.new_card()
    sale = till.start_sale()
    sale.add_gift_card(number, "30.00")
    till.transport = CrashAfterSending(till.transport, "/redeem")
    with pytest.raises(Crash):
        sale.conclude()
    # when it restarts from its offline database
    restarted = PosClient(OfflineStore(till.store.path), till.transport.inner)
    resumed = restarted.resume_sale(sale.transaction_id)
    result = resumed.conclude()
    # then the redeem was sent again with the same key and replayed, not debited twice
    redeems = fake_hq.calls("POST", f"{number}/redeem")
    assert not result.offline and resumed.lines[0].state == REDEEMED_ONLINE
    assert len(redeems) == 2 and len({c[2]["Idempotency-Key"] for c in redeems}) == 1
    assert fake_hq.debits(number) == [Decimal("30.00")]


def test_a_line_voided_offline_queues_its_unlock(fake_hq, till, offline_allowed):
    number = fake_hq.new_card()
    sale = till.start_sale()
    line = sale.add_gift_card(number, "10.00")
    till.transport.cut()
    till.online = False
    sale.void_line(line)
    result = sale.conclude()
    assert line.state == UNLOCK_QUEUED and result.paid() == 0
    assert result.queued_operations == [{"type": "gift_card.unlock", "number": number}]


def test_a_lock_whose_answer_was_lost_is_unlocked_not_spent(fake_hq, till, offline_allowed):
    # given HQ locked the card but the register never saw the balance
    number = fake_hq.new_card()
    sale = till.start_sale()
    till.transport.lose_next("response")
    with pytest.raises(Unreachable):
        sale.add_gift_card(number, "10.00")
    # when the sale is concluded offline, then reconnects
    till.transport.cut()
    result = sale.conclude()
    till.transport.restore()
    till.try_online()
    fake_hq.apply_uploads()
    # then nothing was spent and the lock is gone
    assert result.queued_operations == [{"type": "gift_card.unlock", "number": number}]
    assert fake_hq.items[number]["lock"] is None and fake_hq.debits(number) == []
