"""An in-process stand-in for the POS API v1, mounted as a ``requests`` transport adapter.

It keeps only what the client relies on (devices, parameters with ETag, gift card and credit
memo lock/unlock/redeem, idempotency keys, offline uploads and a P-0001 ``apply_uploads``),
so the client's unit tests run without Django. The real server is exercised end to end in
``test_end_to_end.py``.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import threading
from decimal import Decimal, InvalidOperation

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

SERVER = "http://fake-hq"
PREFIX = SERVER + "/api/pos/v1/"
ROUTES = [
    ("POST", r"devices/activate", "activate"),
    ("GET", r"health", "health"),
    ("GET", r"parameters", "parameters"),
    ("POST", r"(gift-cards|credit-memos)", "issue"),
    ("GET", r"(gift-cards|credit-memos)/([A-Z0-9-]+)", "show"),
    ("POST", r"(gift-cards|credit-memos)/([A-Z0-9-]+)/(lock|unlock|redeem)", "card_action"),
    ("POST", r"offline-transactions", "upload"),
    ("GET", r"offline-transactions/([^/]+)", "upload_status"),
]


class Problem(Exception):
    def __init__(self, status: int, code: str, **extra) -> None:
        super().__init__(code)
        self.status, self.code, self.extra = status, code, extra


def money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def amount_of(raw) -> Decimal:
    if not isinstance(raw, str):
        raise Problem(400, "invalid_amount")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise Problem(400, "invalid_amount") from None
    if value <= 0 or value.as_tuple().exponent < -2:
        raise Problem(400, "invalid_amount")
    return value


class FakeHQ(BaseAdapter):
    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.numbers = itertools.count(1)
        self.activation_codes: dict[str, str] = {}
        self.devices: dict[str, str] = {}
        self.items: dict[str, dict] = {}  # number -> card or memo
        self.ledger: list[tuple[str, Decimal, str]] = []
        self.params = {
            "version": 0,
            "gift_card": {"allow_offline_conclusion": False, "lock_timeout_minutes": None, "offline_limit": None},
            "credit_memo": {"allow_offline_conclusion": False, "lock_timeout_minutes": None, "offline_limit": None},
        }
        self.idempotency: dict[tuple[str, str], tuple[str, int, dict]] = {}
        self.uploads: dict[tuple[str, str], dict] = {}
        self.upload_batches: list[int] = []
        self.requests: list[tuple[str, str, dict]] = []
        self.answer_next: list[int] = []

    # -- test helpers -----------------------------------------------------------------------
    def code_for(self, register: str) -> str:
        code = f"CODE-{len(self.activation_codes) + 1}"
        self.activation_codes[code] = register
        return code

    def create_activation_code(self, register: str, channel: str | None = None) -> str:
        return self.code_for(register)

    def set_parameter(self, name: str, value: str, *, legal_entity: str = "DEMO") -> None:
        section, key = name.split(".")
        parsed = {"true": True, "false": False, "none": None}.get(value, value)
        self.params[section][key] = parsed

    def distribute(self) -> None:
        self.params["version"] += 1

    def run_job(self, code: str) -> None:
        if code in ("1110", "9999"):
            self.distribute()
        if code in ("P-0001", "9999"):
            self.apply_uploads()

    def new_card(self, amount: str = "100.00") -> str:
        return self.issue(None, {"amount": amount}, "gift-cards")[1]["number"]

    def new_memo(self, amount: str = "50.00") -> str:
        return self.issue(None, {"amount": amount}, "credit-memos")[1]["number"]

    def calls(self, method: str, path_part: str) -> list[tuple[str, str, dict]]:
        return [c for c in self.requests if c[0] == method and path_part in c[1]]

    def debits(self, number: str) -> list[Decimal]:
        return [amount for n, amount, _ in self.ledger if n == number]

    # -- the adapter ------------------------------------------------------------------------
    def send(self, request, **kwargs):
        with self.lock:
            path = request.url.removeprefix(PREFIX)
            headers = dict(request.headers)
            self.requests.append((request.method, path, headers))
            if self.answer_next:
                return self._response(request, self.answer_next.pop(0), {"detail": "injected"}, {})
            body = json.loads(request.body) if request.body else None
            try:
                status, data, extra_headers = self._dispatch(request.method, path, headers, body)
            except Problem as exc:
                status, extra_headers = exc.status, {}
                data = {
                    "type": "about:blank",
                    "title": exc.code,
                    "status": exc.status,
                    "code": exc.code,
                    "detail": exc.code.replace("_", " "),
                    **exc.extra,
                }
            return self._response(request, status, data, extra_headers)

    def close(self) -> None:
        pass

    def _response(self, request, status: int, data, headers: dict) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json", **headers})
        response._content = b"" if data is None else json.dumps(data).encode()
        response.url, response.request = request.url, request
        return response

    def _dispatch(self, method, path, headers, body):
        for route_method, pattern, name in ROUTES:
            match = re.fullmatch(pattern, path)
            if match and route_method == method:
                register = self._register(headers) if name not in ("activate", "health") else None
                endpoint, groups = getattr(self, name), match.groups()
                if method == "POST":
                    return self._idempotent(headers, body, functools.partial(endpoint, register, body, *groups))
                return endpoint(register, headers, *groups)
        raise Problem(404, "not_found")

    def _register(self, headers) -> str:
        token = headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.devices:
            raise Problem(401, "not_authenticated")
        return self.devices[token]

    def _idempotent(self, headers, body, run):
        key = (headers.get("Authorization", ""), headers.get("Idempotency-Key", ""))
        if key[1] and key in self.idempotency:
            stored_body, status, data = self.idempotency[key]
            if stored_body != json.dumps(body, sort_keys=True):
                raise Problem(422, "idempotency_key_reused")
            return status, data, {"Idempotent-Replayed": "true"}
        status, data, extra = run()
        if key[1] and 200 <= status < 300:
            self.idempotency[key] = (json.dumps(body, sort_keys=True), status, data)
        return status, data, extra

    # -- endpoints --------------------------------------------------------------------------
    def activate(self, _register, body):
        register = self.activation_codes.pop(body.get("activation_code"), None)
        if register is None:
            raise Problem(400, "invalid_activation_code")
        token = f"token-{len(self.devices) + 1}"
        self.devices[token] = register
        device = {"device_id": len(self.devices), "token": token, "register": {"code": register}}
        return 201, {**device, "channel": {"code": "STORE1", "currency": "USD"}, "legal_entity": "DEMO"}, {}

    def health(self, _register, _headers):
        return 200, {"status": "ok", "time": "2026-11-23T10:00:00Z"}, {}

    def parameters(self, _register, headers):
        etag = f'"v{self.params["version"]}"'
        if headers.get("If-None-Match") == etag:
            return 304, None, {"ETag": etag}
        return 200, json.loads(json.dumps(self.params)), {"ETag": etag}

    def issue(self, register, body, kind):
        number = body.get("number") or f"{6012000000000000 + next(self.numbers)}"
        if kind == "credit-memos":
            number = f"CM-{next(self.numbers):08d}"
        value = amount_of(body.get("amount"))
        item = {"kind": kind, "number": number, "currency": "USD", "balance": value, "status": "open", "lock": None}
        if kind == "gift-cards":
            item["status"] = "active"
        self.items[number] = item
        return 201, self._view(item), {}

    def show(self, _register, _headers, kind, number):
        return 200, self._view(self._item(kind, number)), {}

    def card_action(self, register, body, kind, number, action):
        item = self._item(kind, number)
        owner = (register, body.get("transaction_id"))
        return getattr(self, f"_{action}")(item, owner, body)

    def _lock(self, item, owner, _body):
        self._refuse_other_owner(item, owner, "card_locked" if item["kind"] == "gift-cards" else "memo_locked")
        if item["status"] not in ("open", "active"):
            raise Problem(422, "memo_not_open" if item["kind"] == "credit-memos" else "card_inactive")
        if item["lock"] is None:
            item["lock"] = {
                "channel": "STORE1",
                "register": owner[0],
                "transaction_id": owner[1],
                "locked_at": "2026-11-23T10:00:00Z",
                "expires_at": None,
            }
            if item["kind"] == "credit-memos":
                item["lock"]["remainder_number"] = f"CM-{next(self.numbers):08d}"
        return 200, self._view(item), {}

    def _unlock(self, item, owner, _body):
        self._refuse_other_owner(item, owner, "lock_not_held")
        item["lock"] = None
        return 200, self._view(item), {}

    def _redeem(self, item, owner, body):
        value = amount_of(body.get("amount"))
        self._refuse_other_owner(item, owner, "card_locked" if item["kind"] == "gift-cards" else "memo_locked")
        if value > item["balance"]:
            raise Problem(422, "insufficient_balance" if item["kind"] == "gift-cards" else "amount_exceeds_memo")
        remainder = self._debit(item, value, owner[1])
        if item["kind"] == "gift-cards":
            return 200, {"card": self._view(item), "entry_id": len(self.ledger), "amount": money(value)}, {}
        return 200, {"memo": self._view(item), "applied_amount": money(value), "remainder": remainder}, {}

    def _debit(self, item, value: Decimal, transaction_id: str, remainder_number: str | None = None, unlock=True):
        reserved = (item["lock"] or {}).get("remainder_number") if unlock else remainder_number
        item["balance"] -= value
        if unlock:
            item["lock"] = None
        self.ledger.append((item["number"], value, transaction_id))
        if item["kind"] == "gift-cards":
            return None
        rest = item["balance"]
        item["status"], item["applied"] = "applied", value
        if rest <= 0:
            return None
        number = reserved or f"CM-{next(self.numbers):08d}"
        self.items[number] = {
            "kind": "credit-memos",
            "number": number,
            "currency": "USD",
            "balance": rest,
            "status": "open",
            "lock": None,
        }
        return self._view(self.items[number])

    def _refuse_other_owner(self, item, owner, code):
        lock = item["lock"]
        if lock and (lock["register"], lock["transaction_id"]) != owner:
            raise Problem(409, code, lock=lock)

    def _item(self, kind, number):
        item = self.items.get(number)
        if item is None or item["kind"] != kind:
            raise Problem(404, "card_not_found" if kind == "gift-cards" else "memo_not_found")
        return item

    def _view(self, item):
        view = {"number": item["number"], "currency": item["currency"], "status": item["status"], "lock": item["lock"]}
        if item["kind"] == "gift-cards":
            return {**view, "balance": money(item["balance"]), "expires_at": None}
        return {
            **view,
            "amount": money(item["balance"] + item.get("applied", 0)),
            "applied_amount": money(item.get("applied", Decimal(0))),
            "remainder_of": None,
        }

    # -- offline transactions ---------------------------------------------------------------
    def upload(self, register, body):
        transactions = body.get("transactions")
        if not isinstance(transactions, list) or not 1 <= len(transactions) <= 1000:
            raise Problem(400, "invalid_upload", errors=[{"field": "transactions", "detail": "1 to 1000"}])
        bad = [i for i, t in enumerate(transactions) if not t.get("operations")]
        if bad:
            raise Problem(
                400, "invalid_upload", errors=[{"index": i, "field": "operations", "detail": "empty"} for i in bad]
            )
        self.upload_batches.append(len(transactions))
        result = {"accepted": [], "duplicates": [], "conflicts": []}
        for transaction in transactions:
            key = (register, transaction["transaction_id"])
            seen = self.uploads.get(key)
            if seen is None:
                self.uploads[key] = {"body": transaction, "status": "pending", "exceptions": []}
                result["accepted"].append(transaction["transaction_id"])
            else:
                result["duplicates" if seen["body"] == transaction else "conflicts"].append(key[1])
        return 202, result, {}

    def upload_status(self, register, _headers, transaction_id):
        found = self.uploads.get((register, transaction_id))
        if found is None:
            raise Problem(404, "not_found")
        return (
            200,
            {
                "transaction_id": transaction_id,
                "status": found["status"],
                "received_at": None,
                "applied_at": None,
                "exceptions": found["exceptions"],
            },
            {},
        )

    def apply_uploads(self) -> None:
        """P-0001, as the contract describes it (parameters: the current ones)."""
        with self.lock:
            for (register, transaction_id), upload in self.uploads.items():
                if upload["status"] == "pending":
                    for operation in upload["body"]["operations"]:
                        self._apply(register, transaction_id, operation, upload["exceptions"])
                    upload["status"] = "exception" if upload["exceptions"] else "applied"

    def _apply(self, register, transaction_id, operation, exceptions):
        kind, action = operation["type"].split(".")
        item = self.items.get(operation["number"])
        if item is None:
            exceptions.append({"code": f"unknown_{'card' if kind == 'gift_card' else 'memo'}", "detail": ""})
            return
        held = item["lock"] and (item["lock"]["register"], item["lock"]["transaction_id"]) == (register, transaction_id)
        if action == "unlock":
            item["lock"] = None if held else item["lock"]
            return
        if not held:
            exceptions.append({"code": "lock_lost", "detail": ""})
        if not self.params[kind]["allow_offline_conclusion"]:
            exceptions.append({"code": "offline_not_allowed", "detail": ""})
        value = Decimal(operation["amount"])
        if value > item["balance"]:
            exceptions.append({"code": "offline_overspend", "detail": ""})
            value = item["balance"]
        self._debit(item, value, transaction_id, operation.get("remainder_number"), unlock=held)
