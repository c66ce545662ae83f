"""The register's SDK: one object per device, speaking the POS API v1 contract."""

from __future__ import annotations

from typing import Any

from .errors import ApiError, NotActivated, OfflineRefused, PosClientError, Unreachable
from .records import CREDIT_MEMO, GIFT_CARD, PATHS, to_amount
from .sale import Sale
from .store import OfflineStore
from .sync import SyncReport, poll, sync
from .transport import HttpTransport, Reply

# What the POS API serves before the first distribution to a channel.
NOT_DISTRIBUTED = {
    "version": 0,
    "distributed_at": None,
    GIFT_CARD: {"allow_offline_conclusion": False, "lock_timeout_minutes": None, "offline_limit": None},
    CREDIT_MEMO: {"allow_offline_conclusion": False, "lock_timeout_minutes": None, "offline_limit": None},
}


class PosClient:
    """Talks to HQ through ``transport`` and remembers everything in ``store``.

    ``online`` turns false the moment a call goes unanswered; ``try_online`` probes ``health``
    and, when the server answers again, resolves calls left in doubt and uploads the queue.
    """

    def __init__(self, store: OfflineStore, transport: Any = None) -> None:
        self.store = store
        server = store.get("server")
        self.transport = transport or (HttpTransport(server) if server else None)
        self.online = True
        self.last_sync_error: PosClientError | None = None

    # -- plumbing ---------------------------------------------------------------------------
    def send(self, method: str, path: str, *, body: Any = None, headers: dict | None = None, auth: bool = True):
        headers = dict(headers or {})
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            return self.transport.request(method, path, json=body, headers=headers)
        except Unreachable:
            self.online = False
            raise

    def get(self, path: str, *, auth: bool = True) -> Any:
        reply = self.send("GET", path, auth=auth)
        if not reply.ok:
            raise ApiError.from_reply(reply.status, reply.body)
        return reply.body

    def post(self, path: str, body: dict, *, intent: str, money: bool = False, auth: bool = True) -> Reply:
        """POST with an ``Idempotency-Key`` stored before sending. A 5xx leaves the outcome
        unknown (the key stays for the retry); on a money call it counts as unreachable."""
        key = self.store.idempotency_key(intent=intent, method="POST", path=path, body=body)
        reply = self.send("POST", path, body=body, headers={"Idempotency-Key": key}, auth=auth)
        if reply.status >= 500 and money:
            self.online = False
            raise Unreachable(f"POST {path}: HTTP {reply.status}, treated as unreachable")
        if reply.status < 500:
            self.store.intent_answered(intent, reply.status)
        if not reply.ok:
            raise ApiError.from_reply(reply.status, reply.body)
        return reply

    # -- device -----------------------------------------------------------------------------
    def activate(self, code: str, *, server: str | None = None) -> dict:
        if server:
            server = server.rstrip("/")
            self.store.put("server", server)
            if self.transport is None or self.transport.server != server:
                self.transport = HttpTransport(server)
        reply = self.post("devices/activate", {"activation_code": code}, intent=f"activate/{code}", auth=False)
        device = reply.body
        legal_entity = device.get("legal_entity")
        self.store.put("token", device["token"])
        self.store.put(
            "device",
            {
                "device_id": device.get("device_id"),
                "register": device["register"]["code"],
                "channel": device["channel"]["code"],
                "currency": device["channel"]["currency"],
                "legal_entity": legal_entity.get("code") if isinstance(legal_entity, dict) else legal_entity,
            },
        )
        self.store.put("parameters", None)
        self.online = True
        return self.device

    @property
    def token(self) -> str:
        return self._activated("token")

    @property
    def device(self) -> dict:
        return self._activated("device")

    def _activated(self, key: str) -> Any:
        value = self.store.get(key)
        if not value:
            raise NotActivated("This register is not activated: run `activate CODE --server URL` first.")
        return value

    def new_transaction_id(self) -> str:
        device = self.device
        number = self.store.next_number("transaction_counter")
        return f"{device['register'][:16]}-{str(device['device_id'])[-12:]}-{number:06d}"

    # -- connectivity -----------------------------------------------------------------------
    def health(self) -> dict:
        return self.get("health", auth=False)

    def try_online(self) -> bool:
        """True when the server answers; coming back from offline resolves and uploads first."""
        if self.online:
            return True
        try:
            self.health()
        except (Unreachable, ApiError):
            self.online = False
            return False
        self.online = True
        self.sync_quietly()
        return self.online

    def require_online(self, what: str) -> None:
        if not self.try_online():
            raise OfflineRefused(f"Offline: {what} cannot be started until the server answers again.")

    # -- parameters -------------------------------------------------------------------------
    def cached_parameters(self) -> dict:
        cached = self.store.get("parameters")
        return cached["body"] if cached else NOT_DISTRIBUTED

    def parameters(self) -> dict:
        """The channel's parameters: revalidated with ``If-None-Match`` when online; the cache when
        HQ does not answer or fails."""
        if not self.online:
            return self.cached_parameters()
        try:
            return self.refresh_parameters()
        except Unreachable:
            return self.cached_parameters()
        except ApiError as exc:
            if exc.status < 500:
                raise
            return self.cached_parameters()

    def refresh_parameters(self) -> dict:
        cached = self.store.get("parameters")
        headers = {"If-None-Match": cached["etag"]} if cached and cached.get("etag") else {}
        reply = self.send("GET", "parameters", headers=headers)
        if reply.status == 304 and cached:
            return cached["body"]
        if not reply.ok:
            raise ApiError.from_reply(reply.status, reply.body)
        self.store.put("parameters", {"etag": reply.headers.get("etag"), "body": reply.body})
        return reply.body

    # -- cards and memos --------------------------------------------------------------------
    def gift_card(self, number: str) -> dict:
        return self.get(f"{PATHS[GIFT_CARD]}/{number.strip().upper()}")

    def credit_memo(self, number: str) -> dict:
        return self.get(f"{PATHS[CREDIT_MEMO]}/{number.strip().upper()}")

    def issue_gift_card(self, *, amount: str, currency: str | None = None, number: str | None = None) -> dict:
        body = self._issue_body(amount, currency)
        if number:
            body["number"] = number.strip().upper()
        return self._issue(GIFT_CARD, body)

    def issue_credit_memo(self, *, amount: str, currency: str | None = None) -> dict:
        return self._issue(CREDIT_MEMO, self._issue_body(amount, currency))

    def _issue_body(self, amount: str, currency: str | None) -> dict:
        return {
            "transaction_id": self.new_transaction_id(),
            "amount": str(to_amount(amount)),
            "currency": currency or self.device["currency"],
        }

    def _issue(self, kind: str, body: dict) -> dict:
        self.require_online("issuing")
        return self.post(PATHS[kind], body, intent=f"issue/{body['transaction_id']}", money=True).body

    # -- sales, upload ----------------------------------------------------------------------
    def start_sale(self, *, staff_id: str | None = None) -> Sale:
        self.try_online()
        self.parameters()
        transaction_id = self.new_transaction_id()
        self.store.sale_create(transaction_id, staff_id)
        return Sale(self, transaction_id, staff_id)

    def resume_sale(self, transaction_id: str) -> Sale:
        row = self.store.sale(transaction_id)
        if row is None or row["state"] != "open":
            raise PosClientError(f"No open sale {transaction_id}.")
        return Sale(self, transaction_id, row["staff_id"], self.store.lines(transaction_id=transaction_id))

    def sync(self) -> SyncReport:
        return sync(self)

    def sync_quietly(self) -> None:
        """Sync on reconnection; a failure is kept in ``last_sync_error``, never raised mid-sale."""
        try:
            self.sync()
            self.last_sync_error = None
        except PosClientError as exc:
            self.last_sync_error = exc

    def poll(self, *, timeout: float = 30.0, interval: float = 0.5) -> dict[str, str]:
        return poll(self, timeout=timeout, interval=interval)
