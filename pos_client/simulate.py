"""N registers (threads) selling with gift cards while their network drops at random; then
everything is uploaded and applied, and every card's balance at HQ is checked against what
the registers' own offline databases say they took from it.

Drops are injected by each register's ``FaultyTransport``: with probability ``drop_rate`` a
call's request is lost before it reaches HQ, or its response after HQ acted (the case
idempotency keys exist for); and with the same probability a sale's network goes down after
its cards were locked (``cut``) and comes back a moment after the sale was concluded.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from .client import PosClient
from .demo import register_client
from .errors import ApiError, OfflineRefused, PosClientError, Unreachable
from .records import CONCLUDED_OFFLINE, REDEEMED_ONLINE, REFUSED, SPENT, UNLOCK_QUEUED, VOIDED, mask
from .store import QUEUED, UPLOADED
from .transport import FaultyTransport

CARD_AMOUNT = "500.00"


@dataclass
class Register:
    name: str
    client: PosClient
    network: FaultyTransport
    sales: int = 0
    outages: int = 0
    refused: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    def line_counts(self) -> Counter:
        return Counter(line.state for line in self.client.store.lines())


@dataclass
class Settings:
    server: str
    codes: list[str]
    registers: int
    seconds: float
    drop_rate: float
    wait: float = 60.0
    cards: int = 0
    seed: int | None = None
    hq: Any = None
    run_job: bool = False
    directory: str | None = None


def simulate(settings: Settings, out=print) -> int:
    """Runs the simulation and prints its summary; returns the exit code (0 = all balances agree)."""
    directory = Path(settings.directory or tempfile.mkdtemp(prefix="pos-simulate-"))
    registers = [_register(settings, i, directory) for i in range(settings.registers)]
    cards = _issue_cards(registers[0].client, settings.cards or 2 * settings.registers)
    out(
        f"{len(registers)} register(s), {len(cards)} card(s) of {CARD_AMOUNT}, {settings.seconds:g} s, "
        f"drop rate {settings.drop_rate:g}; offline databases in {directory}"
    )
    deadline = time.monotonic() + settings.seconds
    seed = settings.seed if settings.seed is not None else random.randrange(1 << 30)
    threads = [
        threading.Thread(target=_sell, args=(r, list(cards), deadline, random.Random(seed + i)), name=r.name)
        for i, r in enumerate(registers)
    ]
    for register in registers:
        register.network.drop_rate = settings.drop_rate
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out(f"selling done (seed {seed}); reconnecting, uploading, waiting up to {settings.wait:g} s for P-0001")
    unsettled = _settle(registers, settings)
    mismatches = _report(registers, cards, unsettled, out)
    return 1 if mismatches or unsettled else 0


def _register(settings: Settings, index: int, directory: Path) -> Register:
    code = settings.codes[index] if index < len(settings.codes) else None
    if code is None:
        if settings.hq is None:
            raise PosClientError(f"register {index + 1} needs an --activation-code (or --manage to make one)")
        code = settings.hq.create_activation_code(f"REG{index + 1}")
    client, network = register_client(settings.server, code, directory, f"register-{index + 1}")
    network.random.seed((settings.seed or 0) + 1000 + index)
    return Register(f"{client.device['register']}#{index + 1}", client, network)


def _issue_cards(client: PosClient, count: int) -> dict[str, Decimal]:
    return {client.issue_gift_card(amount=CARD_AMOUNT)["number"]: Decimal(CARD_AMOUNT) for _ in range(count)}


def _sell(register: Register, numbers: list[str], deadline: float, rng: random.Random) -> None:
    while time.monotonic() < deadline:
        try:
            _one_sale(register, numbers, rng)
        except (PosClientError, ValueError) as exc:
            register.errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(rng.uniform(0.0, 0.05))


def _one_sale(register: Register, numbers: list[str], rng: random.Random) -> None:
    sale = register.client.start_sale(staff_id=register.name[:16])
    register.sales += 1
    for number in rng.sample(numbers, k=min(len(numbers), rng.choice((1, 1, 2)))):
        try:
            sale.add_gift_card(number, f"{rng.randint(50, 2000) / 100:.2f}")
        except (OfflineRefused, Unreachable):
            register.refused["offline"] += 1
            break
        except ApiError as exc:
            register.refused[exc.code] += 1
    locked = [line for line in sale.lines if line.state not in (VOIDED, REFUSED)]
    if locked and rng.random() < 0.15:
        sale.void_line(rng.choice(locked))
    outage = bool(locked) and rng.random() < register.network.drop_rate
    if outage:
        register.network.cut()
        register.outages += 1
    try:
        _conclude(register, sale)
    finally:
        if outage:
            time.sleep(rng.uniform(0.1, 0.5))
            register.network.restore()


def _conclude(register: Register, sale) -> None:
    for _ in range(3):
        try:
            sale.conclude()
            return
        except ApiError as exc:
            register.refused[exc.code] += 1


def _settle(registers: list[Register], settings: Settings) -> list[str]:
    """Network back for everyone: upload everything, then wait for HQ to apply it."""
    for register in registers:
        register.network.drop_rate = 0.0
        register.network.restore()
        _sync(register)
    if settings.run_job and settings.hq is not None:
        settings.hq.run_job("P-0001")
    deadline = time.monotonic() + settings.wait
    unsettled = []
    for register in registers:
        statuses = register.client.poll(timeout=max(0.0, deadline - time.monotonic()), interval=0.5)
        unsettled += [f"{register.name} {t}: {s}" for t, s in statuses.items() if s not in ("applied", "exception")]
        unsettled += [
            f"{register.name} {r['transaction_id']}: never uploaded"
            for r in register.client.store.offline_transactions(QUEUED)
        ]
    return unsettled


def _sync(register: Register, attempts: int = 3) -> None:
    """Settle and upload; a refusal (a throttled lookup, say) is retried after a pause."""
    for attempt in range(attempts):
        try:
            if register.client.try_online():
                register.client.sync()
                return
        except PosClientError as exc:
            register.errors.append(f"sync: {exc}")
        time.sleep(1.0 + attempt)


def _report(registers: list[Register], cards: dict[str, Decimal], unsettled: list[str], out) -> int:
    expected = dict(cards)
    exceptions = Counter()
    for register in registers:
        for line in register.client.store.lines():
            if line.state in SPENT and line.number in expected:
                expected[line.number] -= Decimal(line.amount)
        for row in register.client.store.offline_transactions(UPLOADED):
            exceptions.update(e.get("code", "?") for e in row["exceptions"])
    out("\nregister        sales  outages  online  offline  voided  unlock-queued  dropped(req/resp)  refused")
    for r in registers:
        counts = r.line_counts()
        drops = f"{r.network.drops['request']}/{r.network.drops['response']}"
        refused = ", ".join(f"{code} {n}" for code, n in sorted(r.refused.items())) or "-"
        out(
            f"{r.name:<15} {r.sales:>5}  {r.outages:>7}  {counts[REDEEMED_ONLINE]:>6}  {counts[CONCLUDED_OFFLINE]:>7}  "
            f"{counts[VOIDED]:>6}  {counts[UNLOCK_QUEUED]:>13}  {drops:>17}  {refused}"
        )
    mismatches = _card_table(registers[0].client, cards, expected, out)
    out(f"\nsync exceptions at HQ: {dict(exceptions) or 'none'}")
    for line in unsettled:
        out(f"NOT APPLIED in time: {line}")
    for r in registers:
        for error in r.errors[:5]:
            out(f"{r.name} error: {error}")
    verdict = "OK: every balance matches the registers' logs" if not mismatches and not unsettled else "MISMATCH"
    out(f"{verdict} ({mismatches} mismatch(es), {len(unsettled)} not applied)")
    return mismatches


def _card_table(client: PosClient, cards: dict[str, Decimal], expected: dict[str, Decimal], out) -> int:
    out("\ncard     issued   expected   at HQ    lock    ")
    mismatches = 0
    for number, issued in cards.items():
        card = client.gift_card(number)
        ok = Decimal(card["balance"]) == expected[number] and card["lock"] is None
        mismatches += not ok
        lock = "none" if card["lock"] is None else "HELD"
        out(
            f"{mask(number):<8} {issued:>6}  {expected[number]:>9}  {card['balance']:>7}  {lock:<6}  "
            f"{'ok' if ok else 'MISMATCH'}"
        )
    return mismatches
