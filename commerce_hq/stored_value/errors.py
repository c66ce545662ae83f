"""Stored-value errors; each carries the stable POS API code and status."""

from commerce_hq.errors import DomainError


class StoredValueError(DomainError):
    pass


class InvalidRequest(StoredValueError):
    code, status, title = "invalid_request", 400, "Invalid request"


class InvalidAmount(StoredValueError):
    code, status, title = "invalid_amount", 400, "Invalid amount"


class CardNotFound(StoredValueError):
    code, status, title = "card_not_found", 404, "Gift card not found"


class MemoNotFound(StoredValueError):
    code, status, title = "memo_not_found", 404, "Credit memo not found"


class CardExists(StoredValueError):
    code, status, title = "card_exists", 409, "Gift card already exists"


class CardLocked(StoredValueError):
    code, status, title = "card_locked", 409, "Gift card in use"


class MemoLocked(StoredValueError):
    code, status, title = "memo_locked", 409, "Credit memo in use"


class LockNotHeld(StoredValueError):
    code, status, title = "lock_not_held", 409, "Lock not held"


class AlreadyRedeemed(StoredValueError):
    code, status, title = "already_redeemed", 409, "Already redeemed in this transaction"


class CardInactive(StoredValueError):
    code, status, title = "card_inactive", 422, "Gift card not active"


class MemoNotOpen(StoredValueError):
    code, status, title = "memo_not_open", 422, "Credit memo not open"


class InsufficientBalance(StoredValueError):
    code, status, title = "insufficient_balance", 422, "Insufficient balance"


class AmountExceedsMemo(StoredValueError):
    code, status, title = "amount_exceeds_memo", 422, "Amount exceeds the credit memo"


class CurrencyMismatch(StoredValueError):
    code, status, title = "currency_mismatch", 422, "Currency mismatch"


class BalanceLimitExceeded(StoredValueError):
    code, status, title = "balance_limit_exceeded", 422, "Balance limit exceeded"


class CashOutNotAllowed(StoredValueError):
    code, status, title = "cash_out_not_allowed", 422, "Cash-out not allowed"
