"""The register's offline database: one SQLite file.

It holds the device token, the cached parameters (with their ETag), the idempotency key of
every POST (written before the request is sent), the sales and their lines, and the queue
of transactions concluded offline (kept until the server acknowledged them with a 202).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from .records import Line, now_rfc3339

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    intent TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL,
    body TEXT NOT NULL, state TEXT NOT NULL, status INTEGER, created_at TEXT NOT NULL, answered_at TEXT);
CREATE TABLE IF NOT EXISTS sales (
    transaction_id TEXT PRIMARY KEY, staff_id TEXT, state TEXT NOT NULL, started_at TEXT NOT NULL,
    concluded_at TEXT);
CREATE TABLE IF NOT EXISTS lines (
    transaction_id TEXT NOT NULL, line_no INTEGER NOT NULL, kind TEXT NOT NULL, number TEXT NOT NULL,
    requested TEXT, currency TEXT, shown_balance TEXT, remainder_number TEXT, lock_expires_at TEXT,
    state TEXT NOT NULL, amount TEXT, remainder TEXT, PRIMARY KEY (transaction_id, line_no));
CREATE TABLE IF NOT EXISTS offline_transactions (
    transaction_id TEXT PRIMARY KEY, body TEXT NOT NULL, state TEXT NOT NULL, outcome TEXT,
    server_status TEXT, exceptions TEXT, queued_at TEXT NOT NULL, uploaded_at TEXT);
"""

# Outbox states: "pending" = sent (or about to be) without an answer; "answered"; "abandoned" = superseded.
PENDING, ANSWERED, ABANDONED = "pending", "answered", "abandoned"
# Offline transaction states.
QUEUED, UPLOADED, SETTLED_ONLINE = "queued", "uploaded", "settled_online"
LINE_COLUMNS = [f.name for f in fields(Line)]


class OfflineStore:
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- settings ---------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        rows = self._run("SELECT value FROM kv WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else default

    def put(self, key: str, value: Any) -> None:
        self._run("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    @contextmanager
    def _transaction(self):
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def next_number(self, key: str) -> int:
        with self._transaction():
            number = self.get(key, 0) + 1
            self.put(key, number)
        return number

    # -- idempotency keys -------------------------------------------------------------------
    def idempotency_key(self, *, intent: str, method: str, path: str, body: Any) -> str:
        """The key for ``intent``, stored before the request is sent. A request still without an
        answer (timeout, crash) keeps its key, so the retry is recognised as the same request;
        after an answer the next attempt is a fresh request with a fresh key."""
        payload = json.dumps(body, sort_keys=True)
        with self._lock:
            rows = self._run(
                "SELECT idempotency_key, body FROM outbox WHERE intent = ? AND state = ?", (intent, PENDING)
            )
            if rows and rows[0]["body"] == payload:
                return rows[0]["idempotency_key"]
            key = str(uuid.uuid4())
            self._run(
                "INSERT OR REPLACE INTO outbox (intent, idempotency_key, method, path, body, state, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (intent, key, method, path, payload, PENDING, now_rfc3339()),
            )
            return key

    def intent_answered(self, intent: str, status: int) -> None:
        self._run(
            "UPDATE outbox SET state = ?, status = ?, answered_at = ? WHERE intent = ?",
            (ANSWERED, status, now_rfc3339(), intent),
        )

    def intent_abandon(self, intent: str) -> None:
        self._run("UPDATE outbox SET state = ? WHERE intent = ? AND state = ?", (ABANDONED, intent, PENDING))

    def pending_intents(self) -> list[dict]:
        return [dict(r) for r in self._run("SELECT * FROM outbox WHERE state = ? ORDER BY created_at", (PENDING,))]

    # -- sales and lines ---------------------------------------------------------------------
    def sale_create(self, transaction_id: str, staff_id: str | None) -> None:
        self._run(
            "INSERT INTO sales (transaction_id, staff_id, state, started_at) VALUES (?, ?, 'open', ?)",
            (transaction_id, staff_id, now_rfc3339()),
        )

    def sale_close(self, transaction_id: str, state: str) -> None:
        self._run(
            "UPDATE sales SET state = ?, concluded_at = ? WHERE transaction_id = ?",
            (state, now_rfc3339(), transaction_id),
        )

    def sale(self, transaction_id: str) -> dict | None:
        rows = self._run("SELECT * FROM sales WHERE transaction_id = ?", (transaction_id,))
        return dict(rows[0]) if rows else None

    def sales(self, state: str | None = None) -> list[dict]:
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        return [dict(r) for r in self._run(f"SELECT * FROM sales {where} ORDER BY started_at", args)]

    def line_save(self, line: Line) -> None:
        values = asdict(line)
        marks = ", ".join("?" for _ in LINE_COLUMNS)
        sql = f"INSERT OR REPLACE INTO lines ({', '.join(LINE_COLUMNS)}) VALUES ({marks})"
        self._run(sql, tuple(values[c] for c in LINE_COLUMNS))

    def lines(self, *, transaction_id: str | None = None, state: str | None = None) -> list[Line]:
        clauses, args = [], []
        if transaction_id is not None:
            clauses.append("transaction_id = ?")
            args.append(transaction_id)
        if state is not None:
            clauses.append("state = ?")
            args.append(state)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._run(f"SELECT * FROM lines {where} ORDER BY transaction_id, line_no", tuple(args))
        return [Line(**{c: row[c] for c in LINE_COLUMNS}) for row in rows]

    # -- offline transactions ----------------------------------------------------------------
    def offline_queue(self, body: dict) -> None:
        self._run(
            "INSERT INTO offline_transactions (transaction_id, body, state, queued_at) VALUES (?, ?, ?, ?)",
            (body["transaction_id"], json.dumps(body), QUEUED, now_rfc3339()),
        )

    def offline_replace(self, transaction_id: str, body: dict | None) -> None:
        """Change a still-queued transaction's operations; ``None`` = settled online, nothing to upload."""
        if body is None:
            self._run(
                "UPDATE offline_transactions SET state = ? WHERE transaction_id = ? AND state = ?",
                (SETTLED_ONLINE, transaction_id, QUEUED),
            )
            return
        self._run(
            "UPDATE offline_transactions SET body = ? WHERE transaction_id = ? AND state = ?",
            (json.dumps(body), transaction_id, QUEUED),
        )

    def offline_transactions(self, state: str | None = None, limit: int = -1) -> list[dict]:
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        rows = self._run(f"SELECT * FROM offline_transactions {where} ORDER BY queued_at LIMIT ?", (*args, limit))
        return [_offline_row(r) for r in rows]

    def offline_transaction(self, transaction_id: str) -> dict | None:
        rows = self._run("SELECT * FROM offline_transactions WHERE transaction_id = ?", (transaction_id,))
        return _offline_row(rows[0]) if rows else None

    def offline_uploaded(self, outcomes: dict[str, str]) -> None:
        """Mark an acknowledged batch uploaded, in one write: ``{transaction_id: outcome}``."""
        now = now_rfc3339()
        with self._transaction():
            self._db.executemany(
                "UPDATE offline_transactions SET state = ?, outcome = ?, uploaded_at = ?, server_status = "
                "COALESCE(server_status, 'pending') WHERE transaction_id = ?",
                [(UPLOADED, outcome, now, transaction_id) for transaction_id, outcome in outcomes.items()],
            )

    def offline_status(self, transaction_id: str, status: str, exceptions: list) -> None:
        self._run(
            "UPDATE offline_transactions SET server_status = ?, exceptions = ? WHERE transaction_id = ?",
            (status, json.dumps(exceptions), transaction_id),
        )


def _offline_row(row: sqlite3.Row) -> dict:
    found = dict(row)
    found["body"] = json.loads(found["body"])
    found["exceptions"] = json.loads(found["exceptions"]) if found["exceptions"] else []
    return found
