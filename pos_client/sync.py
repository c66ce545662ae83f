"""Coming back online: settle calls left in doubt, upload the offline queue, follow it at HQ."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError, PosClientError, Unreachable
from .records import CONCLUDED_OFFLINE, UNLOCK_QUEUED, Line, mask
from .sale import offline_operations, record_online_redeem
from .store import QUEUED, UPLOADED

BATCH_SIZE = 1000
FINAL = ("applied", "exception")


@dataclass
class SyncReport:
    settled_online: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        text = [f"settled online (its answer had been lost): {x}" for x in self.settled_online]
        text += [f"in-doubt call never reached HQ, left to the upload: {x}" for x in self.not_applied]
        text.append(
            f"uploaded: {len(self.accepted)} accepted, {len(self.duplicates)} duplicate(s), "
            f"{len(self.conflicts)} conflict(s)"
        )
        text += [f"duplicate (seen before, identical): {x}" for x in self.duplicates]
        text += [f"CONFLICT (seen before with different content, flagged at HQ): {x}" for x in self.conflicts]
        return text


def sync(client: Any) -> SyncReport:
    """Settle every redeem whose answer was lost, then upload; any unanswered call stops here."""
    report = SyncReport()
    resolve_in_doubt(client, report)
    upload(client, report)
    return report


# -- calls left in doubt ---------------------------------------------------------------------
def resolve_in_doubt(client: Any, report: SyncReport) -> None:
    """A redeem sent just before the network went can have been applied at HQ. Before its sale's
    offline operations are uploaded, find out: applied → the line is settled online and its
    offline operation dropped (never debited twice); not applied → the upload carries it."""
    store = client.store
    for row in store.pending_intents():
        parts = row["intent"].rsplit("/", 2)
        if len(parts) != 3 or parts[2] != "redeem":
            continue
        sale = store.sale(parts[0])
        line = next((x for x in store.lines(transaction_id=parts[0]) if x.line_no == int(parts[1])), None)
        if sale is None or sale["state"] == "open" or line is None:
            continue
        if line.state not in (CONCLUDED_OFFLINE, UNLOCK_QUEUED):
            store.intent_abandon(row["intent"])
        elif _redeem_applied(client, line, row):
            _settle_online(client, line, row)
            report.settled_online.append(f"{line.transaction_id} line {line.line_no} {mask(line.number)}")
        else:
            store.intent_abandon(row["intent"])
            report.not_applied.append(f"{line.transaction_id} line {line.line_no} {mask(line.number)}")


def _redeem_applied(client: Any, line: Line, row: dict) -> bool:
    """Still locked by this sale → the redeem (which unlocks) never ran. Otherwise ask HQ with
    the same key and a body it must refuse: ``idempotency_key_reused`` means the key holds a
    stored success; ``invalid_amount`` means it does not, and nothing changed."""
    try:
        lock = client.get(line.path).get("lock") or {}
    except ApiError as exc:
        if exc.code in ("card_not_found", "memo_not_found"):
            return False
        raise
    if lock.get("transaction_id") == line.transaction_id and lock.get("register") == client.device["register"]:
        return False
    probe = {**json.loads(row["body"]), "amount": "0"}
    headers = {"Idempotency-Key": row["idempotency_key"]}
    reply = client.send("POST", row["path"], body=probe, headers=headers)
    code = reply.body.get("code") if isinstance(reply.body, dict) else None
    if code == "idempotency_key_reused":
        return True
    if code == "invalid_amount":
        return False
    if reply.status >= 500:
        client.online = False
        raise Unreachable(f"POST {row['path']}: HTTP {reply.status}, treated as unreachable")
    raise ApiError.from_reply(reply.status, reply.body)


def _settle_online(client: Any, line: Line, row: dict) -> None:
    body = json.loads(row["body"])
    reply = client.post(row["path"], body, intent=row["intent"], money=True)
    record_online_redeem(line, body["amount"], reply.body)
    client.store.line_save(line)
    item = client.store.offline_transaction(line.transaction_id)
    if item is None or item["state"] != QUEUED:
        return
    operations = offline_operations(client.store.lines(transaction_id=line.transaction_id))
    client.store.offline_replace(
        line.transaction_id, {**item["body"], "operations": operations} if operations else None
    )


# -- upload ----------------------------------------------------------------------------------
def upload(client: Any, report: SyncReport, *, batch_size: int = BATCH_SIZE) -> None:
    """Upload the queue oldest first in batches; an item leaves the queue only on the 202."""
    while rows := client.store.offline_transactions(QUEUED, limit=batch_size):
        bodies = [row["body"] for row in rows]
        digest = hashlib.sha256(json.dumps(bodies, sort_keys=True).encode()).hexdigest()[:32]
        reply = client.post("offline-transactions", {"transactions": bodies}, intent=f"upload/{digest}", money=True)
        sent = {body["transaction_id"] for body in bodies}
        result = reply.body if isinstance(reply.body, dict) else {}
        outcomes: dict[str, str] = {}
        for outcome, key in (("accepted", "accepted"), ("duplicate", "duplicates"), ("conflict", "conflicts")):
            ids = [x for x in result.get(key, []) if x in sent]
            outcomes.update(dict.fromkeys(ids, outcome))
            getattr(report, key).extend(ids)
        client.store.offline_uploaded(outcomes)
        if outcomes.keys() != sent:
            raise PosClientError(
                f"HQ acknowledged an upload without listing {len(sent - outcomes.keys())} transaction(s)"
            )


# -- following uploads at HQ -----------------------------------------------------------------
def poll(client: Any, *, timeout: float, interval: float) -> dict[str, str]:
    """Ask HQ about every uploaded transaction not yet applied, until all are applied or
    excepted or ``timeout`` seconds passed; returns ``{transaction_id: status}``."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = _poll_once(client)
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return {row["transaction_id"]: row["server_status"] for row in client.store.offline_transactions(UPLOADED)}


def _poll_once(client: Any) -> list[str]:
    waiting = []
    for row in client.store.offline_transactions(UPLOADED):
        if row["server_status"] in FINAL:
            continue
        try:
            found = client.get(f"offline-transactions/{row['transaction_id']}") if client.try_online() else None
        except Unreachable:
            found = None
        if found is None:
            waiting.append(row["transaction_id"])
            continue
        client.store.offline_status(row["transaction_id"], found["status"], found.get("exceptions") or [])
        if found["status"] not in FINAL:
            waiting.append(row["transaction_id"])
    return waiting
