"""Offline sync at scale: upload a backlog of offline transactions, apply it with P-0001, and
compare with a raw set-based SQL apply of the same operations.

    python -m bench.offline_sync [--transactions 100000] [--cards 20000] [--registers 50]

Needs PostgreSQL (``BENCH_DATABASE_URL``, default a ``chq_bench_offline`` database on
127.0.0.1, dropped and re-created each run). Steps:

1. Data: one legal entity, channels of 10 registers each, one activated device per register,
   offline conclusion allowed and distributed (1110), ``--cards`` gift cards of 100.00 (rows and
   their issue entries written in bulk; reconcile checks them at the end).
2. Backlog: each card is redeemed (5.00) by ``transactions / cards`` transactions spread over
   the registers; the first of them holds the card's lock (as a register that locked it
   online), the later ones do not, so they are booked with ``lock_lost`` exceptions.
3. Upload: every register posts its transactions to ``POST offline-transactions`` (Django test
   client, batches of 1000). The P-0001 run each upload queues is counted, not executed.
4. Copy: the cards and the staged uploads are copied to plain tables for the raw apply.
5. P-0001: ``manage.py run_job P-0001`` in a child process (the worker); its peak RSS is read
   from the kernel's accounting of the child.
6. Raw: one transaction of set-based SQL on the copy writing the same rows under the same
   constraints: lock the cards in id order, debit them and drop the locks the transactions
   held, insert the ledger entries and a lock_lost exception per transaction that held no lock,
   mark the uploads applied or excepted.

Prints the upload rate, apply rate, worker peak RSS, the raw rate and the ratio, each against
its target. Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/chq_bench_offline"
REGISTERS_PER_CHANNEL = 10
BATCH = 1000
BALANCE = Decimal("100.00")
AMOUNT = "5.00"
TARGETS = {"apply_rate": 5000, "ratio": 0.30, "rss_mb": 300, "backlog_seconds": 30}


def prepare_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    for command in (["migrate", "--noinput", "-v", "0"], ["createcachetable"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=bench_env(url), check=True)


def bench_env(url: str) -> dict:
    """Eager Celery and a local cache (no REDIS_URL): nothing leaves this machine's processes."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_DEBUG"}}
    return {**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "commerce_hq.settings"}


def make_registers(count: int) -> list[tuple[object, str]]:
    """``count`` registers with an activated device each: [(register, token)]."""
    from commerce_hq.channels.models import Channel, LegalEntity, Register
    from commerce_hq.channels.services import activation_code_create, device_activate
    from commerce_hq.distribution.services import parameters_distribute
    from commerce_hq.parameters.services import parameters_update

    entity = LegalEntity.objects.create(code="BENCH", name="Bench Retail", currency="USD")
    registers = []
    for n in range(count):
        if n % REGISTERS_PER_CHANNEL == 0:
            channel = Channel.objects.create(legal_entity=entity, code=f"STORE{n // 10 + 1}", currency="USD")
        register = Register.objects.create(channel=channel, code=f"REG{n % REGISTERS_PER_CHANNEL + 1}")
        _, token = device_activate(activation_code=activation_code_create(register=register))
        registers.append((register, token))
    allow = {"gift_card.allow_offline_conclusion": True, "credit_memo.allow_offline_conclusion": True}
    parameters_update(legal_entity=entity, changes=allow, source="bench")
    parameters_distribute()
    return registers


def make_cards(count: int, entity) -> list[str]:
    """``count`` cards holding BALANCE, each with its issue entry (bulk: setup speed only)."""
    from commerce_hq.stored_value.models import GiftCard, LedgerEntry

    cards = GiftCard.objects.bulk_create(
        (GiftCard(number=f"7777{n:012d}", legal_entity=entity, currency="USD", balance=BALANCE) for n in range(count)),
        batch_size=2000,
    )
    LedgerEntry.objects.bulk_create(
        (
            LedgerEntry(gift_card=card, operation="issue", amount=BALANCE, balance_after=BALANCE, currency="USD")
            for card in cards
        ),
        batch_size=5000,
    )
    return [card.number for card in cards]


def make_backlog(numbers: list[str], registers: list, total: int) -> dict[int, list[dict]]:
    """{register index: transactions}; transaction n redeems card n // per_card and the first
    transaction on each card holds its lock."""
    from commerce_hq.stored_value.models import GiftCard

    per_card = max(1, total // len(numbers))
    start = datetime.now(UTC)  # just after 1110 distributed the switch
    backlog: dict[int, list[dict]] = {index: [] for index in range(len(registers))}
    holders = {}
    for n in range(total):
        number = numbers[(n // per_card) % len(numbers)]
        index = n % len(registers)
        transaction_id = f"T{n:07d}"
        if number not in holders:
            holders[number] = (registers[index][0], transaction_id)
        operations = [{"type": "gift_card.redeem", "number": number, "amount": AMOUNT, "currency": "USD"}]
        if holders[number][1] == transaction_id:
            operations.append({"type": "gift_card.unlock", "number": number})
        concluded = (start + timedelta(milliseconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        backlog[index].append(
            {"transaction_id": transaction_id, "concluded_at": concluded, "staff_id": "007", "operations": operations}
        )
    locked_at = start - timedelta(minutes=1)
    cards = list(GiftCard.objects.filter(number__in=holders))
    for card in cards:
        card.lock_register, card.lock_transaction_id = holders[card.number]
        card.locked_at = locked_at
    GiftCard.objects.bulk_update(cards, ["lock_register", "lock_transaction_id", "locked_at"], batch_size=2000)
    return backlog


def upload_all(registers: list, backlog: dict[int, list[dict]]) -> tuple[float, int, int]:
    """POST every register's backlog in batches; returns (seconds, accepted, P-0001 queued)."""
    from rest_framework.test import APIClient

    accepted = 0
    with mock.patch("pos_api.channel_db.views.job_queue") as queued:
        started = time.perf_counter()
        for index, (_, token) in enumerate(registers):
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            transactions = backlog[index]
            for first in range(0, len(transactions), BATCH):
                body = {"transactions": transactions[first : first + BATCH]}
                response = client.post("/api/pos/v1/offline-transactions", body, format="json")
                assert response.status_code == 202, response.content[:500]
                accepted += len(response.json()["accepted"])
        return time.perf_counter() - started, accepted, queued.call_count


COPY_SQL = """
DROP TABLE IF EXISTS raw_exception, raw_ledger, raw_tx, raw_card;
CREATE TABLE raw_card (LIKE stored_value_giftcard INCLUDING ALL);
INSERT INTO raw_card SELECT * FROM stored_value_giftcard;
CREATE TABLE raw_tx (LIKE channel_db_offlinetransaction INCLUDING ALL);
INSERT INTO raw_tx SELECT * FROM channel_db_offlinetransaction;
CREATE TABLE raw_ledger (LIKE stored_value_ledgerentry INCLUDING ALL,
    FOREIGN KEY (gift_card_id) REFERENCES raw_card (id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (channel_id) REFERENCES channels_channel (id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (register_id) REFERENCES channels_register (id) DEFERRABLE INITIALLY DEFERRED);
INSERT INTO raw_ledger SELECT * FROM stored_value_ledgerentry;
SELECT setval(pg_get_serial_sequence('raw_ledger', 'id'), (SELECT max(id) FROM raw_ledger));
CREATE TABLE raw_exception (LIKE distribution_syncexception INCLUDING ALL,
    FOREIGN KEY (offline_transaction_id) REFERENCES raw_tx (id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (gift_card_id) REFERENCES raw_card (id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (channel_id) REFERENCES channels_channel (id) DEFERRABLE INITIALLY DEFERRED,
    FOREIGN KEY (register_id) REFERENCES channels_register (id) DEFERRABLE INITIALLY DEFERRED);
ANALYZE raw_card; ANALYZE raw_tx; ANALYZE raw_ledger;
"""

# The same rows P-0001 writes for this backlog, set-based, in one transaction: debits with
# their balance after, unlocks of the locks the transactions held, a lock_lost exception for
# each transaction that held none, and every upload marked applied or excepted.
RAW_APPLY_SQL = [
    """CREATE TEMP TABLE ops ON COMMIT DROP AS
       SELECT t.id AS tx, t.register_id, t.transaction_id, t.staff_id, t.concluded_at,
              op->>'number' AS number, (op->>'amount')::numeric AS amount
       FROM raw_tx t, jsonb_array_elements(t.operations) AS op
       WHERE t.status = 'pending' AND op->>'type' = 'gift_card.redeem'""",
    "SELECT id FROM raw_card WHERE number IN (SELECT number FROM ops) ORDER BY id FOR UPDATE",
    """CREATE TEMP TABLE moves ON COMMIT DROP AS
       SELECT ops.*, c.id AS card_id, c.currency, r.channel_id,
              (c.lock_register_id = ops.register_id AND c.lock_transaction_id = ops.transaction_id) AS held,
              c.balance - SUM(ops.amount) OVER (PARTITION BY c.id ORDER BY ops.concluded_at, ops.tx) AS balance_after
       FROM ops JOIN raw_card c ON c.number = ops.number JOIN channels_register r ON r.id = ops.register_id""",
    """UPDATE raw_card c SET balance = m.balance_after,
              lock_register_id = CASE WHEN m.held THEN NULL ELSE c.lock_register_id END,
              lock_transaction_id = CASE WHEN m.held THEN '' ELSE c.lock_transaction_id END,
              locked_at = CASE WHEN m.held THEN NULL ELSE c.locked_at END,
              lock_expires_at = CASE WHEN m.held THEN NULL ELSE c.lock_expires_at END
       FROM (SELECT card_id, bool_or(held) AS held, min(balance_after) AS balance_after
             FROM moves GROUP BY card_id) m
       WHERE c.id = m.card_id""",
    """INSERT INTO raw_ledger (gift_card_id, operation, amount, balance_after, currency, channel_id, register_id,
                               staff_id, transaction_id, origin, note, created_at)
       SELECT card_id, 'redeem', -amount, balance_after, currency, channel_id, register_id, staff_id,
              transaction_id, 'offline', '', now() FROM moves""",
    """INSERT INTO raw_exception (code, detail, channel_id, register_id, offline_transaction_id, gift_card_id,
                                  created_at, note)
       SELECT 'lock_lost', 'Booked anyway: this transaction held no lock on the gift card …' || right(number, 4),
              channel_id, register_id, tx, card_id, now(), '' FROM moves WHERE NOT held""",
    """UPDATE raw_tx t SET status = CASE WHEN m.held THEN 'applied' ELSE 'exception' END, applied_at = now()
       FROM moves m WHERE t.id = m.tx""",
]


def raw_copy(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(COPY_SQL)


SAME_ROWS_SQL = """
SELECT (SELECT sum(balance) FROM raw_card) = (SELECT sum(balance) FROM stored_value_giftcard),
       (SELECT count(*) FROM raw_card WHERE lock_register_id IS NOT NULL)
         = (SELECT count(*) FROM stored_value_giftcard WHERE lock_register_id IS NOT NULL),
       (SELECT count(*) FROM raw_exception) = (SELECT count(*) FROM distribution_syncexception),
       (SELECT count(*) FROM raw_ledger) = (SELECT count(*) FROM stored_value_ledgerentry)
"""


def raw_matches(url: str) -> bool:
    """Did the raw apply end with the same balances, locks, exception and ledger counts?"""
    with psycopg.connect(url) as conn:
        return all(conn.execute(SAME_ROWS_SQL).fetchone())


def raw_apply(url: str) -> tuple[float, int]:
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        with conn.transaction():
            for statement in RAW_APPLY_SQL:
                conn.execute(statement)
            done = conn.execute("SELECT count(*) FROM raw_tx WHERE status <> 'pending'").fetchone()[0]
        return time.perf_counter() - started, done


def run_p0001(url: str) -> tuple[float, int]:
    """``manage.py run_job P-0001`` as the worker; returns (wall seconds, its peak RSS in KiB).
    The peak is the worker's own ``VmHWM`` (the kernel's rusage of a child would also count the
    forked copy of this bigger process from before the exec)."""
    started = time.perf_counter()
    worker = subprocess.Popen([sys.executable, "manage.py", "run_job", "P-0001"], cwd=ROOT, env=bench_env(url))
    peak = 0
    while worker.poll() is None:
        peak = max(peak, _peak_rss_kib(worker.pid))
        time.sleep(0.02)
    if worker.returncode:
        raise SystemExit(f"run_job P-0001 failed with exit code {worker.returncode}")
    return time.perf_counter() - started, peak


def _peak_rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), "VmHWM: 0 kB")
    return int(line.split()[1])


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--registers", type=int, default=50)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)

    print(f"Preparing {urlsplit(url).path.lstrip('/')} …", flush=True)
    prepare_database(url)
    os.environ.update(bench_env(url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from commerce_hq.distribution.models import JobRun
    from commerce_hq.reconcile import run_reconcile
    from pos_api.channel_db.models import OfflineTransaction

    registers = make_registers(args.registers)
    numbers = make_cards(args.cards, registers[0][0].channel.legal_entity)
    backlog = make_backlog(numbers, registers, args.transactions)
    print(f"{args.transactions} transactions over {args.cards} cards and {args.registers} registers", flush=True)

    upload_seconds, accepted, queued = upload_all(registers, backlog)
    print(
        f"upload   {accepted} accepted in {upload_seconds:6.2f} s = {accepted / upload_seconds:8.0f} tx/s "
        f"({queued} P-0001 runs queued by the uploads, not executed here)",
        flush=True,
    )

    raw_copy(url)
    wall, rss_kib = run_p0001(url)
    run = JobRun.objects.get(job="P-0001")
    applied = run.transactions_applied
    apply_rate = applied / run.seconds
    raw_seconds, raw_done = raw_apply(url)
    raw_rate = raw_done / raw_seconds
    pending = OfflineTransaction.objects.filter(status="pending").count()
    report = run_reconcile()

    rss_mb = rss_kib / 1024
    print(
        f"P-0001   {applied} applied in {run.seconds:6.2f} s = {apply_rate:8.0f} tx/s "
        f"(process wall {wall:.2f} s, {run.exceptions_raised} sync exceptions) — "
        f"{verdict(apply_rate >= TARGETS['apply_rate'])} ≥ {TARGETS['apply_rate']} tx/s"
    )
    print(
        f"backlog  {args.transactions} in {run.seconds:6.2f} s — "
        f"{verdict(run.seconds < TARGETS['backlog_seconds'])} < {TARGETS['backlog_seconds']} s"
    )
    print(f"worker   peak RSS {rss_mb:6.1f} MB — {verdict(rss_mb < TARGETS['rss_mb'])} < {TARGETS['rss_mb']} MB")
    print(f"raw SQL  {raw_done} applied in {raw_seconds:6.2f} s = {raw_rate:8.0f} tx/s (same rows and constraints)")
    ratio = apply_rate / raw_rate
    print(f"ratio    P-0001 / raw = {ratio:.0%} — {verdict(ratio >= TARGETS['ratio'])} ≥ {TARGETS['ratio']:.0%}")
    books = "OK" if report.ok else "MISMATCH: " + "; ".join(report.problems[:3])
    same = "same" if raw_matches(url) else "DIFFERENT"
    print(f"check    {pending} still pending; reconcile {books}; raw and P-0001 end with {same} books")


if __name__ == "__main__":
    main()
