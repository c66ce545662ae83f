"""Back office for gift cards, credit memos and their books. Read-only: money moves only
through the stored-value services, which the actions below call."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.urls import path, reverse
from django.utils.html import format_html

from commerce_hq.admin_site import ReadOnlyAdmin

from . import services
from .admin_views import (
    ReasonOperation,
    lock_age,
    lock_owner,
    money_text,
    reason_action,
    reason_object_view,
    run_each,
    stuck_locks_view,
)
from .locks import mask
from .models import AuditEvent, CreditMemo, GiftCard, LedgerEntry, ShortfallEntry


def number_search(queryset: QuerySet, term: str) -> QuerySet:
    """A full number matches exactly; four characters match the last four."""
    term = term.strip().lstrip("…*. ").replace(" ", "").upper()
    if not term:
        return queryset
    if len(term) == 4:
        return queryset.filter(number__endswith=term)
    return queryset.filter(number=term)


class LockedFilter(admin.SimpleListFilter):
    title = "locked"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(lock_register__isnull=self.value() == "no")
        return queryset


def account_link(obj) -> str:
    """The card or memo a ledger, shortfall or audit row belongs to, masked, linked to its page."""
    target = obj.gift_card or obj.credit_memo
    if target is None:
        return "—"
    name = "giftcard" if obj.gift_card_id else "creditmemo"
    url = reverse(f"admin:stored_value_{name}_change", args=[target.pk])
    return format_html('<a href="{}">{} {}</a>', url, target._meta.verbose_name.capitalize(), mask(target.number))


class AccountAdmin(ReadOnlyAdmin):
    """What gift cards and credit memos share: masked numbers, number search, locks and the books."""

    search_fields = ("number",)
    search_help_text = "Full number, or its last 4 characters."
    list_select_related = ("lock_register__channel", "legal_entity")
    change_list_template = "admin/stored_value/account_change_list.html"
    change_form_template = "admin/stored_value/account_change_form.html"
    release_operation: ReasonOperation

    def get_search_results(self, request, queryset, search_term):
        return number_search(queryset, search_term), False

    @admin.display(description="Number", ordering="number")
    def masked_number(self, obj) -> str:
        return mask(obj.number)

    @admin.display(description="Lock owner (store / register / transaction)")
    def lock_owner(self, obj) -> str:
        return lock_owner(obj) or "—"

    @admin.display(description="Lock age", ordering="locked_at")
    def lock_age(self, obj) -> str:
        return lock_age(obj.locked_at) or "—"

    def get_urls(self):
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        urls = [
            path(
                "<int:pk>/release-lock/",
                self.admin_site.admin_view(self.release_lock_view),
                name=f"{prefix}_release_lock",
            ),
        ]
        return urls + super().get_urls()

    def has_release_lock_permission(self, request) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.release_lock_{self.opts.model_name}")

    def release_lock_view(self, request, pk: int):
        return reason_object_view(self, request, pk, self.release_operation)

    @admin.action(description="Release lock…", permissions=["release_lock"])
    def release_lock(self, request, queryset):
        return reason_action(self, request, queryset, self.release_operation)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context = {**(extra_context or {}), **self._books(request, obj)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _books(self, request, obj) -> dict:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return {
            "masked": mask(obj.number),
            "ledger": [
                {
                    "entry": e,
                    "amount": money_text(e.amount, e.currency),
                    "after": money_text(e.balance_after, e.currency),
                }
                for e in obj.entries.select_related("channel", "register__channel", "created_by").order_by("id")
            ],
            "audit": obj.audit.select_related("lock_register__channel", "user").order_by("-id"),
            "can_release": obj.is_locked and self.has_release_lock_permission(request),
            "release_url": reverse(f"admin:{prefix}_release_lock", args=[obj.pk]),
        }


LOCK_FIELDS = ("lock_owner", "locked_at", "lock_age", "lock_expires_at")


def release_lock_operation(noun: str, service) -> ReasonOperation:
    return ReasonOperation(
        title=f"Release {noun} lock",
        button="Release lock",
        permission="release_lock",
        service=service,
        done=f"Released the lock on {{count}} {noun}(s).",
        checks_lock=True,
    )


@admin.register(GiftCard)
class GiftCardAdmin(AccountAdmin):
    list_display = ("masked_number", "balance_text", "status", "lock_owner", "lock_age", "legal_entity", "issued_at")
    list_filter = ("status", LockedFilter, "currency")
    actions = ["release_lock", "block", "unblock"]
    fields = readonly_fields = (
        "masked_number",
        "legal_entity",
        "balance_text",
        "status",
        "expires_at",
        "issued_channel",
        "issued_at",
        *LOCK_FIELDS,
    )
    release_operation = release_lock_operation("gift card", services.gift_card_release_lock)

    @admin.display(description="Balance", ordering="balance")
    def balance_text(self, obj: GiftCard) -> str:
        return money_text(obj.balance, obj.currency)

    def has_block_permission(self, request) -> bool:
        return request.user.has_perm("stored_value.block_giftcard")

    def get_urls(self):
        stuck = path("stuck-locks/", self.admin_site.admin_view(self.stuck_locks_view), name="stored_value_stuck_locks")
        return [stuck, *super().get_urls()]

    def stuck_locks_view(self, request):
        return stuck_locks_view(self, request)

    @admin.action(description="Block", permissions=["block"])
    def block(self, request, queryset):
        self._set_blocked(request, queryset, blocked=True)

    @admin.action(description="Unblock", permissions=["block"])
    def unblock(self, request, queryset):
        self._set_blocked(request, queryset, blocked=False)

    def _set_blocked(self, request, queryset, *, blocked: bool) -> None:
        def call(card: GiftCard) -> None:
            services.gift_card_set_blocked(number=card.number, blocked=blocked, user=request.user)

        verb = "Blocked" if blocked else "Unblocked"
        run_each(request, queryset.order_by("pk"), call, f"{verb} {{count}} gift card(s).")


@admin.register(CreditMemo)
class CreditMemoAdmin(AccountAdmin):
    list_display = (
        "masked_number",
        "amount_text",
        "status",
        "applied_text",
        "remainder_of_link",
        "remainder_link",
        "lock_owner",
        "reserved_remainder",
        "lock_age",
    )
    list_filter = ("status", LockedFilter, "currency")
    list_select_related = (*AccountAdmin.list_select_related, "remainder_of", "remainder")
    actions = ["release_lock", "void"]
    fields = readonly_fields = (
        "masked_number",
        "legal_entity",
        "amount_text",
        "status",
        "applied_text",
        "remainder_of_link",
        "remainder_link",
        "issued_channel",
        "issued_at",
        *LOCK_FIELDS,
        "reserved_remainder",
    )
    release_operation = release_lock_operation("credit memo", services.credit_memo_release_lock)
    void_operation = ReasonOperation(
        title="Void credit memo",
        button="Void",
        permission="void",
        service=services.credit_memo_void,
        done="Voided {count} credit memo(s).",
    )

    @admin.display(description="Amount", ordering="amount")
    def amount_text(self, obj: CreditMemo) -> str:
        return money_text(obj.amount, obj.currency)

    @admin.display(description="Applied", ordering="applied_amount")
    def applied_text(self, obj: CreditMemo) -> str:
        return money_text(obj.applied_amount, obj.currency)

    @admin.display(description="Remainder of")
    def remainder_of_link(self, obj: CreditMemo) -> str:
        return self._memo_link(obj.remainder_of)

    @admin.display(description="Remainder")
    def remainder_link(self, obj: CreditMemo) -> str:
        return self._memo_link(getattr(obj, "remainder", None))

    @admin.display(description="Reserved remainder number")
    def reserved_remainder(self, obj: CreditMemo) -> str:
        return mask(obj.lock_remainder_number) if obj.lock_remainder_number else "—"

    def _memo_link(self, memo: CreditMemo | None) -> str:
        if memo is None:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:stored_value_creditmemo_change", args=[memo.pk]), mask(memo.number)
        )

    def has_void_permission(self, request) -> bool:
        return request.user.has_perm("stored_value.void_creditmemo")

    def get_urls(self):
        void = path("<int:pk>/void/", self.admin_site.admin_view(self.void_view), name="stored_value_creditmemo_void")
        return [void, *super().get_urls()]

    def void_view(self, request, pk: int):
        return reason_object_view(self, request, pk, self.void_operation)

    @admin.action(description="Void…", permissions=["void"])
    def void(self, request, queryset):
        return reason_action(self, request, queryset, self.void_operation)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "account",
        "operation",
        "amount_text",
        "balance_after_text",
        "channel",
        "register",
        "staff_id",
        "transaction_id",
        "origin",
    )
    list_filter = ("operation", "origin", "currency", "channel")
    list_select_related = ("gift_card", "credit_memo", "channel", "register__channel")
    search_fields = ("transaction_id", "staff_id")
    search_help_text = "Transaction id or staff id."

    @admin.display(description="Card or memo")
    def account(self, obj: LedgerEntry) -> str:
        return account_link(obj)

    @admin.display(description="Amount", ordering="amount")
    def amount_text(self, obj: LedgerEntry) -> str:
        return money_text(obj.amount, obj.currency)

    @admin.display(description="Balance after")
    def balance_after_text(self, obj: LedgerEntry) -> str:
        return money_text(obj.balance_after, obj.currency)


@admin.register(ShortfallEntry)
class ShortfallEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "amount_text", "channel", "register", "transaction_id")
    list_filter = ("currency", "channel")
    list_select_related = ("gift_card", "credit_memo", "channel", "register__channel")
    search_fields = ("transaction_id",)

    @admin.display(description="Card or memo")
    def account(self, obj: ShortfallEntry) -> str:
        return account_link(obj)

    @admin.display(description="Shortfall", ordering="amount")
    def amount_text(self, obj: ShortfallEntry) -> str:
        return money_text(obj.amount, obj.currency)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "account", "former_lock", "user", "reason")
    list_filter = ("action", ("user", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("gift_card", "credit_memo", "lock_register__channel", "user")
    search_fields = ("reason", "lock_transaction_id")

    @admin.display(description="Card or memo")
    def account(self, obj: AuditEvent) -> str:
        return account_link(obj)

    @admin.display(description="Lock owner then")
    def former_lock(self, obj: AuditEvent) -> str:
        if obj.lock_register is None:
            return "—"
        return f"{obj.lock_register} / {obj.lock_transaction_id}"
