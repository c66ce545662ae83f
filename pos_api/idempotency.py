"""``Idempotency-Key`` for POST handlers, implemented once: decorate a view's ``post`` with
``@idempotent``.

The same key from the same device with the same method, path and JSON body returns the
first 2xx response again (header ``Idempotent-Replayed: true``) and changes nothing; the
same key with anything else → ``422 idempotency_key_reused``. The key row is inserted first,
inside the request's transaction: a concurrent twin blocks on the unique index until the
first request ends, then replays it (or runs afresh if the first one failed). A non-2xx
response rolls the whole transaction back, key row included, so only 2xx responses are stored.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from commerce_hq.errors import DomainError

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x20-\x7e]{1,128}$")


class IdempotencyKeyReused(DomainError):
    code, status, title = "idempotency_key_reused", 422, "Idempotency key reused"


def idempotent(post):
    """Wrap a DRF ``post(self, request, *args, **kwargs)`` handler."""

    @functools.wraps(post)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return post(view, request, *args, **kwargs)
        _check(key)
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            row, created = _claim(request.user, key, fingerprint)
            if not created:
                return _replay(row, fingerprint)
            response = _run(post, view, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                IdempotencyKey.objects.filter(pk=row.pk).update(status_code=response.status_code, body=response.data)
            else:
                transaction.set_rollback(True)
        return response

    return wrapper


def _check(key: str) -> None:
    if not _KEY.match(key):
        raise ValidationError({HEADER: "1 to 128 printable ASCII characters."})


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(device, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """Insert the key row (created=True), or return the row a finished twin stored."""
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(device=device, key=key, fingerprint=fingerprint), True
    except IntegrityError:
        return IdempotencyKey.objects.get(device=device, key=key), False


def _replay(stored: IdempotencyKey, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was used with another request.")
    return Response(stored.body, status=stored.status_code, headers={REPLAYED_HEADER: "true"})


def _run(post, view, request, *args, **kwargs) -> Response:
    """The handler's response, errors turned into their problem responses (so they roll back)."""
    try:
        return post(view, request, *args, **kwargs)
    except Exception as exc:  # handle_exception re-raises what it cannot answer
        return view.handle_exception(exc)


def idempotency_keys_purge(*, older_than_days: int) -> int:
    """Forget keys older than ``older_than_days`` (far beyond any register's retry window);
    returns how many were deleted."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
