"""The scripted seamless-switch story, step by step, checking every outcome.

"Network lost" is the register's own transport switched to a dead local address
(``FaultyTransport.cut``); HQ keeps running. The parameters are switched through HQ's
operations CLI (``hq``), because the POS API cannot change them; the register then waits
(up to ``wait`` seconds) until its channel serves the new version.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .client import PosClient
from .errors import ApiError, OfflineRefused, PosClientError
from .records import CONCLUDED_OFFLINE, UNLOCK_QUEUED, mask
from .store import UPLOADED, OfflineStore
from .transport import FaultyTransport, HttpTransport

SWITCHES = ("gift_card.allow_offline_conclusion", "credit_memo.allow_offline_conclusion")


class Story:
    def __init__(self, out: Callable[[str], None] = print) -> None:
        self.out = out
        self.steps = 0
        self.failures = 0

    def step(self, text: str) -> None:
        self.steps += 1
        self.out(f"\n{self.steps}. {text}")

    def note(self, text: str) -> None:
        self.out(f"   {text}")

    def check(self, what: str, ok: bool, detail: str = "") -> bool:
        self.failures += not ok
        self.out(f"   [{'ok' if ok else 'FAIL'}] {what}" + (f": {detail}" if detail else ""))
        return ok


def register_client(server: str, code: str, directory: Path, name: str) -> tuple[PosClient, FaultyTransport]:
    transport = FaultyTransport(HttpTransport(server))
    client = PosClient(OfflineStore(directory / f"{name}.sqlite3"), transport)
    client.activate(code, server=server)
    return client, transport


class Demo:
    def __init__(
        self, *, server: str, codes: list[str], hq: Any, wait: float, run_job: bool, directory=None, out=print
    ) -> None:
        self.server, self.codes, self.hq = server, codes, hq
        self.wait, self.run_job = wait, run_job
        self.story = Story(out)
        self.directory = Path(directory or tempfile.mkdtemp(prefix="pos-demo-"))

    def run(self) -> bool:
        story = self.story
        try:
            self._setup()
            original = self._switches()
            self._offline_allowed()
            self._offline_not_allowed()
            self._restore(original)
        except (PosClientError, ValueError, KeyError) as exc:
            story.check("the story ran to the end", False, f"{type(exc).__name__}: {exc}")
        story.out(f"\n{'ALL STEPS AS EXPECTED' if story.failures == 0 else f'{story.failures} STEP(S) FAILED'}")
        return story.failures == 0

    # -- steps ------------------------------------------------------------------------------
    def _setup(self) -> None:
        story = self.story
        story.step(f"Activate the registers against {self.server}")
        codes = self.codes or [self.hq.create_activation_code("REG1"), self.hq.create_activation_code("REG2")]
        self.client, self.network = register_client(self.server, codes[0], self.directory, "register-a")
        device = self.client.device
        story.check("register A activated", True, f"{device['register']} in {device['channel']} ({device['currency']})")
        self.other = None
        if len(codes) > 1:
            self.other, _ = register_client(self.server, codes[1], self.directory, "register-b")
            story.check("register B activated", True, self.other.device["register"])
        story.check("health probe answers", self.client.health().get("status") == "ok")

    def _switches(self) -> dict[str, bool]:
        parameters = self.client.parameters()
        return {key: bool(parameters[key.split(".")[0]]["allow_offline_conclusion"]) for key in SWITCHES}

    def _distribute(self, wanted: dict[str, bool]) -> dict:
        """Switch at HQ, run job 1110, and wait until the register's channel serves the change."""
        entity = self.client.device["legal_entity"]
        for name, on in wanted.items():
            self.hq.set_parameter(name, "true" if on else "false", legal_entity=entity)
        self.hq.run_job("1110")
        deadline = time.monotonic() + self.wait
        while any(self._switches()[k] != on for k, on in wanted.items()) and time.monotonic() < deadline:
            time.sleep(0.5)
        return self.client.parameters()

    def _offline_allowed(self) -> None:
        story, client = self.story, self.client
        story.step("HQ allows concluding gift cards and credit memos offline; job 1110 distributes it")
        parameters = self._distribute(dict.fromkeys(SWITCHES, True))
        story.check(
            "the register picked up the new version",
            all(parameters[k.split(".")[0]]["allow_offline_conclusion"] for k in SWITCHES),
            f"version {parameters['version']}",
        )
        card = client.issue_gift_card(amount="100.00")
        memo = client.issue_credit_memo(amount="50.00")
        spare = client.issue_gift_card(amount="10.00")
        story.note(f"issued gift card {mask(card['number'])} for {card['balance']}, memo {mask(memo['number'])}")

        story.step("Sale 1: the card and the memo are locked online")
        sale = client.start_sale(staff_id="042")
        line = sale.add_gift_card(card["number"], "30.00")
        memo_line = sale.add_credit_memo(memo["number"], "20.00")
        story.check("card locked, balance shown recorded", line.shown_balance == card["balance"], line.shown_balance)
        story.check("memo locked, remainder number reserved", bool(memo_line.remainder_number))

        story.step("Network lost (the register's transport now points at a dead address)")
        self.network.cut()
        self._other_register_refused(card["number"])

        story.step("Conclude sale 1: HQ does not answer, so the register concludes it offline")
        result = sale.conclude()
        story.check("concluded offline", result.offline and line.state == memo_line.state == CONCLUDED_OFFLINE)
        story.check("card redeemed for 30.00 offline", line.amount == "30.00", line.amount or "")
        story.check(
            "memo receipt prints the reserved remainder number",
            memo_line.remainder == memo_line.remainder_number,
            mask(memo_line.remainder or "none"),
        )
        story.note(f"queued: {', '.join(op['type'] for op in result.queued_operations)}")
        self._no_card_operation_offline(spare["number"])

        self._reconnect_and_apply(sale.transaction_id)
        story.step("HQ after P-0001: the card is unlocked and debited once, the memo applied")
        after = client.gift_card(card["number"])
        story.check("card unlocked", after["lock"] is None)
        story.check("balance 100.00 - 30.00", after["balance"] == "70.00", after["balance"])
        memo_after = client.credit_memo(memo["number"])
        story.check("memo applied", memo_after["status"] == "applied", memo_after["status"])
        remainder = client.credit_memo(memo_line.remainder_number)
        story.check("remainder memo has the reserved number and 30.00", remainder["amount"] == "30.00")
        self._other_register_can_use(card["number"])

    def _offline_not_allowed(self) -> None:
        story, client = self.story, self.client
        story.step("HQ switches gift card offline conclusion off; job 1110 distributes it")
        parameters = self._distribute({SWITCHES[0]: False})
        story.check("the register sees it off", not parameters["gift_card"]["allow_offline_conclusion"])
        card = client.issue_gift_card(amount="40.00")

        story.step("Sale 2: card locked online, then the network is lost")
        sale = client.start_sale(staff_id="042")
        line = sale.add_gift_card(card["number"], "25.00")
        story.check("card locked", line.shown_balance == "40.00", line.shown_balance)
        self.network.cut()
        result = sale.conclude()
        story.check("line voided, unlock queued", line.state == UNLOCK_QUEUED and line.amount is None)
        story.check(
            "queued operation is gift_card.unlock",
            [op["type"] for op in result.queued_operations] == ["gift_card.unlock"],
        )
        self._reconnect_and_apply(sale.transaction_id)
        after = client.gift_card(card["number"])
        story.step("HQ after P-0001: the card is unlocked, its balance untouched")
        story.check("card unlocked", after["lock"] is None)
        story.check("balance still 40.00", after["balance"] == "40.00", after["balance"])

    def _restore(self, original: dict[str, bool]) -> None:
        self.story.step("Put the offline switches back as they were")
        parameters = self._distribute(original)
        self.story.check("switches restored", self._switches() == original, f"version {parameters['version']}")

    # -- shared steps -----------------------------------------------------------------------
    def _other_register_refused(self, number: str) -> None:
        if self.other is None:
            self.story.note("(no second activation code: skipping the other register's attempt)")
            return
        try:
            self.other.start_sale().add_gift_card(number)
            self.story.check("the card stays locked for everyone else", False, "register B locked it")
        except ApiError as exc:
            self.story.check("register B is refused: the card stays locked", exc.code == "card_locked", str(exc))

    def _other_register_can_use(self, number: str) -> None:
        if self.other is not None:
            sale = self.other.start_sale()
            sale.add_gift_card(number)
            sale.void()
            self.story.check("register B can lock the card again", True)

    def _no_card_operation_offline(self, number: str) -> None:
        self.story.step("Still offline: the next sale tries another gift card")
        sale = self.client.start_sale()
        try:
            sale.add_gift_card(number)
            self.story.check("no card operation starts offline", False, "the card was locked")
        except OfflineRefused as exc:
            self.story.check("no card operation starts offline", True, str(exc))
        sale.void()

    def _reconnect_and_apply(self, transaction_id: str) -> None:
        story, client = self.story, self.client
        story.step("Network back: the register reconnects and uploads its offline queue")
        self.network.restore()
        story.check("server answers again", client.try_online())
        if client.last_sync_error is not None:
            story.check("upload", False, str(client.last_sync_error))
            return
        uploaded = {row["transaction_id"]: row for row in client.store.offline_transactions(UPLOADED)}
        story.check(
            "upload acknowledged (202)", transaction_id in uploaded, uploaded.get(transaction_id, {}).get("outcome")
        )
        story.step(f"Wait for P-0001 to apply it (up to {self.wait:.0f} s)")
        if self.run_job:
            self.hq.run_job("P-0001")
        statuses = client.poll(timeout=self.wait, interval=0.5)
        row = next(r for r in client.store.offline_transactions(UPLOADED) if r["transaction_id"] == transaction_id)
        story.check("applied at HQ", statuses.get(transaction_id) == "applied", statuses.get(transaction_id))
        story.check("no sync exception", not row["exceptions"], str(row["exceptions"]))
