"""What can go wrong talking to HQ, as exceptions a register can branch on."""

from __future__ import annotations

from typing import Any

# Every stable problem+json ``code`` of the POS API, with what a cashier should be told.
CODE_MESSAGES = {
    "unsupported_media_type": "The register sent a body that is not JSON.",
    "parse_error": "The register sent JSON the server could not parse.",
    "not_found": "No such resource on the server.",
    "method_not_allowed": "The server does not allow that method here.",
    "invalid_request": "The request was refused as invalid.",
    "invalid_amount": "The amount is not valid for this currency.",
    "invalid_upload": "The offline upload was refused; nothing was stored.",
    "not_authenticated": "This device is not (or no longer) activated: activate it again.",
    "permission_denied": "This device may not do that.",
    "throttled": "Too many requests: wait a moment and try again.",
    "idempotency_key_reused": "The same request key was used with a different request.",
    "invalid_activation_code": "The activation code is unknown, already used or expired.",
    "card_exists": "A gift card with that number already exists.",
    "card_not_found": "No gift card with that number.",
    "card_locked": "The gift card is in use in another transaction.",
    "card_inactive": "The gift card is blocked, closed or expired.",
    "lock_not_held": "The card is locked by another register or transaction.",
    "already_redeemed": "Already redeemed in this transaction.",
    "insufficient_balance": "The gift card balance does not cover the amount.",
    "currency_mismatch": "The currency does not match the card's currency.",
    "balance_limit_exceeded": "The gift card would exceed its maximum balance.",
    "cash_out_not_allowed": "The balance is above the store's cash-out threshold.",
    "memo_not_found": "No credit memo with that number.",
    "memo_locked": "The credit memo is in use in another transaction.",
    "memo_not_open": "The credit memo is already applied or voided.",
    "amount_exceeds_memo": "The amount is more than the credit memo.",
    "server_error": "The server failed to answer properly.",
}


class PosClientError(Exception):
    """Root of the client's exceptions."""


class ApiError(PosClientError):
    """The server answered with a problem+json (or another error response)."""

    def __init__(self, *, code: str, status: int, detail: str, body: dict[str, Any] | None = None) -> None:
        self.code = code
        self.status = status
        self.detail = detail
        self.body = body or {}
        self.lock: dict[str, Any] | None = self.body.get("lock")
        self.errors: list[dict[str, Any]] = self.body.get("errors") or []
        super().__init__(self.message())

    @classmethod
    def from_reply(cls, status: int, body: Any) -> ApiError:
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            return cls(code=body["code"], status=status, detail=str(body.get("detail", "")), body=body)
        return cls(code="server_error", status=status, detail=f"HTTP {status} without a problem body.")

    def message(self) -> str:
        text = f"{self.code} ({self.status}): {self.detail or CODE_MESSAGES.get(self.code, 'request refused')}"
        if self.lock and str(self.lock.get("register")) not in self.detail:
            where = f"store {self.lock.get('channel')}, register {self.lock.get('register')}"
            text += f" [in use at {where} since {self.lock.get('locked_at')}]"
        for error in self.errors:
            index = f"#{error['index']} " if "index" in error else ""
            text += f"\n  {index}{error.get('field', '')}: {error.get('detail', '')}"
        return text

    @property
    def hint(self) -> str:
        return CODE_MESSAGES.get(self.code, "The server refused the request.")


class Unreachable(PosClientError):
    """The server did not answer: connection refused or lost, timeout, or a 5xx on a money call."""


class OfflineRefused(PosClientError):
    """A gift card or credit memo operation cannot be started while the register is offline."""


class NotActivated(PosClientError):
    """The local store holds no device token: run activation first."""
