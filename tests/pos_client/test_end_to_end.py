"""The reference client against the real server (pytest-django ``live_server`` on PostgreSQL):
the connection is cut mid-sale by the client's own fault-injecting transport, and P-0001
applies what the register concluded offline."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from commerce_hq.channels.models import Register
from commerce_hq.channels.services import activation_code_create
from commerce_hq.reconcile import run_reconcile
from commerce_hq.stored_value.models import LedgerEntry
from pos_client import FaultyTransport, HttpTransport, OfflineStore, PosClient
from pos_client.demo import Demo
from pos_client.records import CONCLUDED_OFFLINE, REDEEMED_ONLINE, UNLOCK_QUEUED
from pos_client.simulate import Settings, simulate
from tests.factories import issue_card

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class InProcessHQ:
    """HQ's operations commands, run in the test process: same database and cache as the live server."""

    def set_parameter(self, name: str, value: str, *, legal_entity: str) -> None:
        call_command("set_parameter", name, value, "--legal-entity", legal_entity, stdout=StringIO())

    def run_job(self, code: str) -> None:
        call_command("run_job", code, stdout=StringIO())

    def create_activation_code(self, register: str, channel: str | None = None) -> str:
        return activation_code_create(register=Register.objects.get(code=register))


@pytest.fixture
def hq():
    return InProcessHQ()


@pytest.fixture
def make_client(live_server, tmp_path):
    def make(register: Register) -> PosClient:
        transport = FaultyTransport(HttpTransport(live_server.url))
        client = PosClient(OfflineStore(tmp_path / f"{register.code}.sqlite3"), transport)
        client.activate(activation_code_create(register=register), server=live_server.url)
        return client

    return make


def allow_offline(hq: InProcessHQ, on: bool = True) -> None:
    for kind in ("gift_card", "credit_memo"):
        hq.set_parameter(f"{kind}.allow_offline_conclusion", "true" if on else "false", legal_entity="DEMO")
    hq.run_job("1110")


def redeems(number: str) -> list[tuple[Decimal, str]]:
    rows = LedgerEntry.objects.filter(gift_card__number=number, operation=LedgerEntry.Operation.REDEEM)
    return list(rows.values_list("amount", "origin"))


def test_cut_mid_sale_concludes_offline_then_p0001_debits_once_and_unlocks(register, make_client, hq):
    # given a card locked online, with offline conclusion distributed to the channel
    allow_offline(hq)
    card = issue_card(register, "100.00")
    client = make_client(register)
    sale = client.start_sale(staff_id="042")
    line = sale.add_gift_card(card.number, "30.00")
    # when the connection is cut mid-sale
    client.transport.cut()
    result = sale.conclude()
    # then the register concluded it offline; HQ still holds the lock
    assert result.offline and line.state == CONCLUDED_OFFLINE and line.amount == "30.00"
    card.refresh_from_db()
    assert card.balance == Decimal("100.00") and card.is_locked
    # when the connection comes back and P-0001 runs
    client.transport.restore()
    assert client.try_online() and client.last_sync_error is None
    hq.run_job("P-0001")
    statuses = client.poll(timeout=10, interval=0.2)
    # then the card is unlocked and debited exactly once
    assert statuses == {sale.transaction_id: "applied"}, client.store.offline_transactions()
    card.refresh_from_db()
    assert card.balance == Decimal("70.00") and not card.is_locked
    assert redeems(card.number) == [(Decimal("-30.00"), "offline")]
    assert client.gift_card(card.number)["lock"] is None
    assert run_reconcile().ok


def test_parameter_off_voids_the_line_and_the_unlock_is_applied(register, make_client, hq):
    allow_offline(hq, on=False)
    card = issue_card(register, "40.00")
    client = make_client(register)
    sale = client.start_sale()
    line = sale.add_gift_card(card.number, "25.00")
    client.transport.cut()
    result = sale.conclude()
    assert line.state == UNLOCK_QUEUED and result.queued_operations == [
        {"type": "gift_card.unlock", "number": card.number}
    ]
    client.transport.restore()
    assert client.try_online()
    hq.run_job("P-0001")
    assert client.poll(timeout=10, interval=0.2) == {sale.transaction_id: "applied"}
    card.refresh_from_db()
    assert card.balance == Decimal("40.00") and not card.is_locked and redeems(card.number) == []


@pytest.mark.parametrize(
    ("lost", "origin", "uploaded"),
    [("response", "online", False), ("request", "offline", True)],
)
def test_a_redeem_lost_on_the_way_is_debited_exactly_once(register, make_client, hq, lost, origin, uploaded):
    # given the redeem's request (HQ never saw it) or its answer (HQ debited) is lost,
    # and the register concluded the sale offline
    allow_offline(hq)
    card = issue_card(register, "100.00")
    client = make_client(register)
    sale = client.start_sale()
    line = sale.add_gift_card(card.number, "30.00")
    client.transport.lose_next(lost)
    sale.conclude()
    assert line.state == CONCLUDED_OFFLINE
    # when it reconnects and P-0001 runs
    report = client.sync()
    hq.run_job("P-0001")
    # then HQ's lock and the idempotency key told which: one debit either way, nothing uploaded twice
    assert (report.accepted == [sale.transaction_id]) is uploaded
    assert client.store.lines()[0].state == (CONCLUDED_OFFLINE if uploaded else REDEEMED_ONLINE)
    assert redeems(card.number) == [(Decimal("-30.00"), origin)]
    card.refresh_from_db()
    assert card.balance == Decimal("70.00") and not card.is_locked


def test_demo_story_against_the_real_server(register, other_register, live_server, hq, tmp_path):
    lines: list[str] = []
    codes = [activation_code_create(register=register), activation_code_create(register=other_register)]
    demo = Demo(server=live_server.url, codes=codes, hq=hq, wait=10, run_job=True, directory=tmp_path, out=lines.append)
    assert demo.run() is True, "\n".join(lines)
    assert lines[-1].strip() == "ALL STEPS AS EXPECTED"


def test_short_simulator_run_reports_zero_mismatches(register, other_register, live_server, hq, tmp_path):
    allow_offline(hq)
    lines: list[str] = []
    codes = [activation_code_create(register=register), activation_code_create(register=other_register)]
    settings = Settings(
        server=live_server.url,
        codes=codes,
        registers=2,
        seconds=3,
        drop_rate=0.2,
        wait=30,
        seed=11,
        hq=hq,
        directory=str(tmp_path),
        run_job=True,
    )
    assert simulate(settings, out=lines.append) == 0, "\n".join(lines)
    assert lines[-1].startswith("OK: every balance matches the registers' logs (0 mismatch(es), 0 not applied)")
    assert run_reconcile().ok
