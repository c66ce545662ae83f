"""The register's command line: ``python -m pos_client COMMAND ...``."""

from __future__ import annotations

import argparse
import os
import sys

from .client import PosClient
from .demo import Demo
from .errors import ApiError, PosClientError
from .hq import ManageCommands
from .records import mask
from .simulate import Settings, simulate
from .store import QUEUED, SETTLED_ONLINE, UPLOADED, OfflineStore

DEFAULT_STORE = os.environ.get("POS_CLIENT_STORE", "pos_register.sqlite3")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pos_client", description="Reference POS client (register).")
    parser.add_argument("--store", default=DEFAULT_STORE, help="the register's offline database (SQLite file)")
    commands = parser.add_subparsers(dest="command", required=True)

    activate = commands.add_parser("activate", help="activate this register with a one-time code")
    activate.add_argument("code")
    activate.add_argument("--server", required=True, help="e.g. http://127.0.0.1:8000")

    balance = commands.add_parser("balance", help="look up a gift card (or --memo a credit memo)")
    balance.add_argument("number")
    balance.add_argument("--memo", action="store_true")

    sale = commands.add_parser("sale", help="a sale paid with a gift card and/or a credit memo")
    sale.add_argument("--gift-card", help="gift card number")
    sale.add_argument("--amount", help="amount to take from the gift card (default: its balance)")
    sale.add_argument("--credit-memo", help="credit memo number")
    sale.add_argument("--memo-amount", help="amount to take from the memo (default: all of it)")
    sale.add_argument("--staff", default="000", help="staff id on the receipt")
    sale.add_argument("--void", action="store_true", help="void the lines instead of concluding")

    upload = commands.add_parser("upload", help="settle calls left in doubt and upload the offline queue")
    upload.add_argument("--wait", type=float, default=0.0, help="seconds to wait for HQ to apply it")

    commands.add_parser("status", help="device, parameters, offline queue")

    demo = commands.add_parser("demo", help="the scripted seamless-switch story")
    _server_options(demo)

    sim = commands.add_parser("simulate", help="N registers, random sales and drops, then a balance check")
    _server_options(sim)
    sim.add_argument("--registers", type=int, default=2)
    sim.add_argument("--seconds", type=float, default=10.0)
    sim.add_argument("--drop-rate", type=float, default=0.1, help="chance that a call's request or response is lost")
    sim.add_argument("--cards", type=int, default=0, help="gift cards to issue (default: two per register)")
    sim.add_argument("--seed", type=int)
    return parser


def _server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True)
    parser.add_argument("--activation-code", action="append", default=[], dest="codes")
    parser.add_argument(
        "--manage",
        help="HQ operations command for set_parameter/run_job/create_activation_code "
        "(default: this Python running manage.py in the current directory)",
    )
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for P-0001 to apply uploads")
    parser.add_argument("--run-job", action="store_true", help="run P-0001 through --manage instead of a worker")
    parser.add_argument("--store-dir", help="where the registers' offline databases go (default: a new temp dir)")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ApiError as exc:
        print(f"error: {exc}\n{exc.hint}", file=sys.stderr)
    except (PosClientError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    return 1


def _client(args) -> PosClient:
    return PosClient(OfflineStore(args.store))


def cmd_activate(args) -> int:
    device = _client(args).activate(args.code, server=args.server)
    print(f"activated: register {device['register']} in {device['channel']} ({device['currency']})")
    return 0


def cmd_balance(args) -> int:
    client = _client(args)
    found = client.credit_memo(args.number) if args.memo else client.gift_card(args.number)
    value = found["amount"] if args.memo else found["balance"]
    lock = found.get("lock")
    where = f", locked at {lock['channel']}/{lock['register']} since {lock['locked_at']}" if lock else ""
    print(f"{mask(found['number'])}: {value} {found['currency']}, {found['status']}{where}")
    return 0


def cmd_sale(args) -> int:
    if not (args.gift_card or args.credit_memo):
        raise ValueError("give --gift-card and/or --credit-memo")
    client = _client(args)
    sale = client.start_sale(staff_id=args.staff)
    print(f"sale {sale.transaction_id} ({'online' if client.online else 'OFFLINE'})")
    try:
        _add_lines(sale, args)
    except PosClientError:
        sale.void()
        raise
    result = sale.void() if args.void else sale.conclude()
    for line in result.lines:
        detail = f" {line.amount}" if line.amount else ""
        remainder = f", remainder memo {line.remainder}" if line.remainder else ""
        print(f"  {line.kind.replace('_', ' ')} {mask(line.number)}: {line.state}{detail}{remainder}")
    print(f"  paid with cards and memos: {result.paid()}")
    if result.queued_operations:
        print(f"  concluded OFFLINE: {len(result.queued_operations)} operation(s) queued for upload")
    return 0


def _add_lines(sale, args) -> None:
    if args.gift_card:
        line = sale.add_gift_card(args.gift_card, args.amount)
        print(f"  gift card {mask(line.number)} locked, balance shown {line.shown_balance}")
    if args.credit_memo:
        line = sale.add_credit_memo(args.credit_memo, args.memo_amount)
        print(f"  credit memo {mask(line.number)} locked, amount {line.shown_balance}")


def cmd_upload(args) -> int:
    client = _client(args)
    if not client.try_online():
        print("HQ does not answer: the queue stays on this register.", file=sys.stderr)
        return 1
    for line in client.sync().lines():
        print(line)
    if args.wait:
        for transaction_id, status in client.poll(timeout=args.wait).items():
            print(f"{transaction_id}: {status}")
    return 0


def cmd_status(args) -> int:
    client = _client(args)
    device = client.device
    server = client.store.get("server")
    print(f"register {device['register']} in {device['channel']} ({device['currency']}), server {server}")
    online = client.try_online()
    parameters = client.parameters()
    print(f"HQ: {'online' if online else 'OFFLINE'}; parameters version {parameters['version']}")
    for kind in ("gift_card", "credit_memo"):
        section = parameters[kind]
        print(
            f"  {kind}: offline conclusion {'allowed' if section['allow_offline_conclusion'] else 'not allowed'}"
            f", offline limit {section.get('offline_limit') or 'none'}"
        )
    if online:
        client.poll(timeout=0)
    rows = client.store.offline_transactions()
    queued = [r for r in rows if r["state"] == QUEUED]
    print(
        f"offline queue: {len(queued)} waiting for upload, "
        f"{sum(r['state'] == SETTLED_ONLINE for r in rows)} settled online"
    )
    for row in rows:
        if row["state"] == UPLOADED:
            exceptions = "; ".join(f"{e.get('code')}: {e.get('detail')}" for e in row["exceptions"])
            print(f"  {row['transaction_id']}: {row['outcome']}, {row['server_status']} {exceptions}".rstrip())
    open_sales = client.store.sales("open")
    in_doubt = [i for i in client.store.pending_intents() if i["intent"].count("/") == 2]
    print(f"open sales: {len(open_sales)}; calls whose answer was lost: {len(in_doubt)}")
    return 0


def cmd_demo(args) -> int:
    hq = ManageCommands(args.manage)
    demo = Demo(
        server=args.server, codes=args.codes, hq=hq, wait=args.wait, run_job=args.run_job, directory=args.store_dir
    )
    return 0 if demo.run() else 1


def cmd_simulate(args) -> int:
    settings = Settings(
        server=args.server,
        codes=args.codes,
        registers=args.registers,
        seconds=args.seconds,
        drop_rate=args.drop_rate,
        wait=args.wait,
        cards=args.cards,
        seed=args.seed,
        hq=ManageCommands(args.manage),
        run_job=args.run_job,
        directory=args.store_dir,
    )
    return simulate(settings)


COMMANDS = {
    "activate": cmd_activate,
    "balance": cmd_balance,
    "sale": cmd_sale,
    "upload": cmd_upload,
    "status": cmd_status,
    "demo": cmd_demo,
    "simulate": cmd_simulate,
}
