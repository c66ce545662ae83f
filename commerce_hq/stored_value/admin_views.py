"""Admin pages beyond the lists: the reason form (release lock, void) and the stuck-locks view.

Every change goes through a stored-value service; these views only collect the
reason, check the permission and report the outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from commerce_hq import money
from commerce_hq.errors import DomainError

from .locks import mask
from .models import CreditMemo, GiftCard, LockFields
from .selectors import stuck_locks

STUCK_DEFAULT_MINUTES = 15


def money_text(amount, currency: str) -> str:
    return f"{money.format_amount(amount, currency)} {currency}"


def lock_age(locked_at: datetime | None, now: datetime | None = None) -> str:
    """``2 d 3 h``, ``1 h 05 min`` or ``12 min``; empty when not locked."""
    if locked_at is None:
        return ""
    minutes = max(0, int(((now or timezone.now()) - locked_at).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def lock_owner(obj: LockFields) -> str:
    """``STORE1 / REG1 / T-42`` for a locked card or memo; empty when free."""
    if not obj.is_locked:
        return ""
    register = obj.lock_register
    return f"{register.channel.code} / {register.code} / {obj.lock_transaction_id}"


def lock_stamp(obj: LockFields) -> str:
    """Names the lock an admin saw, so a confirmation never releases a newer lock."""
    return f"{obj.lock_register_id or ''}:{obj.lock_transaction_id}"


def parse_lock_stamp(stamp: str) -> tuple[int | None, str]:
    register_id, _, transaction_id = stamp.partition(":")
    return (int(register_id) if register_id.isdigit() else None, transaction_id)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Required. Kept in the audit trail.",
    )


@dataclass(frozen=True)
class ReasonOperation:
    """A back-office operation that needs a reason: which service, which permission, what to say."""

    title: str
    button: str
    permission: str
    service: Callable[..., object]
    done: str
    checks_lock: bool = False


def _allowed(model_admin, request, operation: ReasonOperation) -> bool:
    return getattr(model_admin, f"has_{operation.permission}_permission")(request)


def run_each(request, objects: Iterable, call: Callable[[object], object], done: str) -> None:
    """Calls the service for each card or memo; a refusal is reported by number and the rest go on."""
    count = 0
    for obj in objects:
        try:
            call(obj)
        except DomainError as exc:
            messages.error(request, f"{mask(obj.number)}: {exc.detail}")
            continue
        count += 1
    if count:
        messages.success(request, done.format(count=count))


def _run(request, objects: Iterable, operation: ReasonOperation, reason: str) -> None:
    def call(obj) -> None:
        extra = {}
        if operation.checks_lock:
            extra["expected_owner"] = parse_lock_stamp(request.POST.get(f"lock_{obj.pk}", ""))
        operation.service(number=obj.number, user=request.user, reason=reason, **extra)

    run_each(request, objects, call, operation.done)


def _render(model_admin, request, objects, operation, form, *, via_action: bool, cancel_url: str):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": operation.title,
        "operation": operation,
        "objects": [
            {"obj": obj, "masked": mask(obj.number), "owner": lock_owner(obj), "stamp": lock_stamp(obj)}
            for obj in objects
        ],
        "form": form,
        "via_action": via_action,
        "action_name": request.POST.get("action", ""),
        "cancel_url": cancel_url,
    }
    return TemplateResponse(request, "admin/stored_value/reason_form.html", context)


def reason_action(model_admin, request, queryset, operation: ReasonOperation):
    """Changelist action: first show the reason form, then run the service on the confirmed post."""
    objects = list(queryset.select_related("lock_register__channel").order_by("pk"))
    form = ReasonForm(request.POST if "confirm" in request.POST else None)
    if form.is_bound and form.is_valid():
        _run(request, objects, operation, form.cleaned_data["reason"])
        return None
    cancel_url = reverse(f"admin:{_url_prefix(model_admin)}_changelist")
    return _render(model_admin, request, objects, operation, form, via_action=True, cancel_url=cancel_url)


def reason_object_view(model_admin, request, pk: int, operation: ReasonOperation):
    """The same reason form for one card or memo (from its page or the stuck-locks view)."""
    if not _allowed(model_admin, request, operation):
        raise PermissionDenied
    obj = get_object_or_404(model_admin.model.objects.select_related("lock_register__channel"), pk=pk)
    back = _safe_next(request) or reverse(f"admin:{_url_prefix(model_admin)}_change", args=[obj.pk])
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        _run(request, [obj], operation, form.cleaned_data["reason"])
        return redirect(back)
    return _render(model_admin, request, [obj], operation, form, via_action=False, cancel_url=back)


def _url_prefix(model_admin) -> str:
    opts = model_admin.model._meta
    return f"{opts.app_label}_{opts.model_name}"


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if allowed else ""


class StuckLocksForm(forms.Form):
    minutes = forms.IntegerField(
        label="Locked longer than (minutes)", min_value=0, max_value=7 * 24 * 60, initial=STUCK_DEFAULT_MINUTES
    )


KINDS = {
    GiftCard: ("Gift card", "giftcard", "release_lock_giftcard"),
    CreditMemo: ("Credit memo", "creditmemo", "release_lock_creditmemo"),
}


def _visible_kinds(user) -> dict:
    return {
        model: kind
        for model, kind in KINDS.items()
        if user.has_perm(f"stored_value.view_{kind[1]}") or user.has_perm(f"stored_value.change_{kind[1]}")
    }


def _row(obj, kind, user, now, back: str) -> dict:
    label, model_name, release_perm = kind
    release_url = ""
    if user.has_perm(f"stored_value.{release_perm}"):
        release_url = reverse(f"admin:stored_value_{model_name}_release_lock", args=[obj.pk])
        release_url += "?" + urlencode({"next": back})
    return {
        "register": obj.lock_register,
        "kind": label,
        "masked": mask(obj.number),
        "change_url": reverse(f"admin:stored_value_{model_name}_change", args=[obj.pk]),
        "transaction_id": obj.lock_transaction_id,
        "locked_at": obj.locked_at,
        "age": lock_age(obj.locked_at, now),
        "expires_at": obj.lock_expires_at,
        "remainder_number": mask(obj.lock_remainder_number) if getattr(obj, "lock_remainder_number", "") else "",
        "release_url": release_url,
    }


def group_by_register(rows: list[dict]) -> list[dict]:
    """Groups by (store, register) in the order of their oldest lock; rows stay oldest first."""
    groups: dict[int, dict] = {}
    for row in rows:
        register = row["register"]
        group = groups.setdefault(register.pk, {"channel": register.channel, "register": register, "rows": []})
        group["rows"].append(row)
    return list(groups.values())


def stuck_locks_view(model_admin, request):
    kinds = _visible_kinds(request.user)
    if not kinds:
        raise PermissionDenied
    form = StuckLocksForm(request.GET if "minutes" in request.GET else None)
    minutes = form.cleaned_data["minutes"] if form.is_bound and form.is_valid() else STUCK_DEFAULT_MINUTES
    locks = [obj for obj in stuck_locks(older_than_minutes=minutes) if type(obj) in kinds]
    now = timezone.now()
    back = request.get_full_path()
    rows = [_row(obj, kinds[type(obj)], request.user, now, back) for obj in locks]
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": "Stuck locks",
        "form": form,
        "minutes": minutes,
        "groups": group_by_register(rows),
        "count": len(rows),
    }
    return TemplateResponse(request, "admin/stored_value/stuck_locks.html", context)
