"""The root of the domain exception hierarchy.

Every domain error carries the stable API ``code``, the HTTP ``status`` the POS
API answers with and a human ``title``; ``extra`` adds fields to the
problem+json body (for example the lock owner of ``card_locked``).
"""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    status = 422
    title = "Request refused"

    def __init__(self, detail: str, **extra) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
