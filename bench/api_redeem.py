"""Lock → redeem through the POS API under gunicorn, against the same work done with raw SQL.

    python -m bench.api_redeem [--seconds 15] [--clients 16] [--workers CPUs] [--threads 4]

Needs PostgreSQL (``BENCH_DATABASE_URL``, default a ``chq_bench_api`` database on 127.0.0.1,
dropped and re-created each run). Starts gunicorn on a free loopback port, makes 2000 cards and
one device per client, then runs for ``--seconds`` each:

* API: ``--clients`` keep-alive HTTP clients (one thread each), each cycling lock → redeem on
  its own cards, after a one-second warm-up (connections opened, code paths loaded);
* raw: as many psycopg threads doing the same row lock + debit + ledger insert in one
  transaction.

Prints ops/s and latency percentiles for both, the ratio, and where the API phase's CPU went
(gunicorn, the PostgreSQL backends, the client threads, per request; read from ``/proc`` on
Linux). Figures only, no asserts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/chq_bench_api"
CARDS = 2000
AMOUNT = "0.01"


@dataclass
class Tally:
    """Latencies (seconds) of one kind of operation, from many threads."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, samples: list[float], errors: int) -> None:
        with self.lock:
            self.latencies.extend(samples)
            self.errors += errors

    def line(self, name: str, seconds: float) -> str:
        ordered = sorted(self.latencies) or [0.0]
        p50, p99 = (ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 for q in (0.50, 0.99))
        rate = len(self.latencies) / seconds
        return f"{name:<22} {rate:9.1f} ops/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   errors {self.errors}"

    def rate(self, seconds: float) -> float:
        return len(self.latencies) / seconds


def prepare_database(url: str) -> None:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    run_manage(url, "migrate", "--noinput", "-v", "0")


def run_manage(url: str, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=bench_env(url), check=True)


def bench_env(url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_DEBUG"}}
    return {**env, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "commerce_hq.settings", "LOG_LEVEL": "ERROR"}


def make_data(url: str, clients: int) -> tuple[list[str], list[list[str]]]:
    """Device tokens and, per client, its own slice of the 2000 cards (made by the services)."""
    os.environ.update(bench_env(url))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import transaction

    from commerce_hq.channels.models import Channel, LegalEntity, Register
    from commerce_hq.channels.services import activation_code_create, device_activate
    from commerce_hq.stored_value.services import Actor, gift_card_issue

    entity = LegalEntity.objects.create(code="BENCH", name="Bench", currency="USD")
    channel = Channel.objects.create(legal_entity=entity, code="S1", currency="USD")
    registers = [Register.objects.create(channel=channel, code=f"R{i:02}") for i in range(clients)]
    tokens = [device_activate(activation_code=activation_code_create(register=r))[1] for r in registers]
    with transaction.atomic():
        numbers = [
            gift_card_issue(
                channel=channel, actor=Actor.pos(registers[0]), transaction_id="ISSUE", amount=Decimal("100"),
                currency="USD",
            )[0].number
            for _ in range(CARDS)
        ]  # fmt: skip
    return tokens, [numbers[i::clients] for i in range(clients)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "commerce_hq.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
        "--keep-alive", "30", "--log-level", "warning",
    ]  # fmt: skip
    server = subprocess.Popen(command, cwd=ROOT, env=bench_env(url))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/pos/v1/health")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer /api/pos/v1/health within 30 s")


def api_client(port: int, token: str, cards: list[str], index: int, stop: float, tally: Tally, cycles: Tally) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    samples, cycle_samples, errors, n = [], [], 0, 0
    while time.monotonic() < stop:
        number, tid = cards[n % len(cards)], f"B{index}-{n}"
        started = time.perf_counter()
        for path, body in (("lock", {"transaction_id": tid}),
                           ("redeem", {"transaction_id": tid, "amount": AMOUNT, "currency": "USD"})):  # fmt: skip
            begin = time.perf_counter()
            conn.request("POST", f"/api/pos/v1/gift-cards/{number}/{path}", json.dumps(body), headers)
            response = conn.getresponse()
            response.read()
            samples.append(time.perf_counter() - begin)
            errors += response.status != 200
        cycle_samples.append(time.perf_counter() - started)
        n += 1
    conn.close()
    tally.add(samples, errors)
    cycles.add(cycle_samples, 0)


RAW_SQL = (
    "SELECT id, balance FROM stored_value_giftcard WHERE number = %s FOR UPDATE",
    "UPDATE stored_value_giftcard SET balance = balance - %s WHERE id = %s RETURNING balance",
    "INSERT INTO stored_value_ledgerentry (gift_card_id, operation, amount, balance_after, currency, register_id,"
    " channel_id, staff_id, transaction_id, origin, note, created_at)"
    " VALUES (%s, 'redeem', %s, %s, 'USD', %s, %s, '', %s, 'online', '', now())",
)


def raw_client(url: str, cards: list[str], index: int, stop: float, tally: Tally) -> None:
    samples, n, amount = [], 0, Decimal(AMOUNT)
    with psycopg.connect(url, autocommit=True) as conn:
        register_id, channel_id = conn.execute(
            "SELECT id, channel_id FROM channels_register WHERE code = %s", (f"R{index:02}",)
        ).fetchone()
        while time.monotonic() < stop:
            begin = time.perf_counter()
            with conn.transaction():
                card_id, _ = conn.execute(RAW_SQL[0], (cards[n % len(cards)],)).fetchone()
                (balance,) = conn.execute(RAW_SQL[1], (amount, card_id)).fetchone()
                conn.execute(RAW_SQL[2], (card_id, -amount, balance, register_id, channel_id, f"RAW{index}-{n}"))
            samples.append(time.perf_counter() - begin)
            n += 1
    tally.add(samples, 0)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU the processes have used so far (Linux ``/proc``; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far (Linux ``/proc/stat``)."""
    try:
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(ticks) - ticks[3] - ticks[4]) / hz, sum(ticks) / hz


def server_pids(server: subprocess.Popen) -> list[int]:
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        children = []
    return [server.pid, *map(int, children)]


def backend_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the bench database (gunicorn's connections)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in rows]


@dataclass
class CpuWindow:
    """CPU used by gunicorn, the database backends and this process between ``start`` and ``stop``."""

    groups: dict[str, list[int]]
    used: dict[str, float] = field(default_factory=dict)
    machine: tuple[float, float] = (0.0, 0.0)

    def _sample(self) -> dict[str, float]:
        return {name: cpu_seconds(pids) for name, pids in self.groups.items()} | {"clients": time.process_time()}

    def start(self) -> None:
        self.used, self.machine = self._sample(), machine_busy()

    def stop(self) -> None:
        self.used = {name: value - self.used[name] for name, value in self._sample().items()}
        busy, total = machine_busy()
        self.machine = (busy - self.machine[0], total - self.machine[1])

    def line(self, requests: int) -> str:
        per_request = ", ".join(
            f"{name} {seconds / max(requests, 1) * 1000:.2f} ms" for name, seconds in self.used.items()
        )
        busy, total = self.machine
        return f"API CPU per request: {per_request}; machine busy {busy / max(total, 1e-9):.0%}"


def run_threads(target, count: int, args_for) -> None:
    threads = [threading.Thread(target=target, args=args_for(i)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=4)
    options = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    prepare_database(url)
    tokens, slices = make_data(url, options.clients)
    port = free_port()
    server = start_gunicorn(url, port, options.workers, options.threads)
    try:
        stop = time.monotonic() + 1
        run_threads(api_client, options.clients, lambda i: (port, tokens[i], slices[i], -1 - i, stop, Tally(), Tally()))
        requests, cycles, raw = Tally(), Tally(), Tally()
        cpu = CpuWindow({"gunicorn": server_pids(server), "postgres": backend_pids(url)})
        cpu.start()
        stop = time.monotonic() + options.seconds
        run_threads(api_client, options.clients, lambda i: (port, tokens[i], slices[i], i, stop, requests, cycles))
        cpu.stop()
        stop = time.monotonic() + options.seconds
        run_threads(raw_client, options.clients, lambda i: (url, slices[i], i, stop, raw))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{options.clients} clients, {options.seconds:g} s each, gunicorn gthread "
          f"{options.workers} workers x {options.threads} threads, {os.cpu_count()} CPUs")  # fmt: skip
    print(requests.line("API requests", options.seconds))
    print(cycles.line("API lock+redeem cycles", options.seconds))
    print(raw.line("raw SQL redeems", options.seconds))
    print(f"ratio API cycles / raw redeems: {cycles.rate(options.seconds) / max(raw.rate(options.seconds), 1e-9):.0%}")
    print(cpu.line(len(requests.latencies)))


if __name__ == "__main__":
    main()
