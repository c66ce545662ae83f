"""Back office for the channel database: what each channel and register has picked up, and
the staged offline uploads. Read-only; the distribution jobs write these rows."""

from __future__ import annotations

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from commerce_hq.admin_site import ReadOnlyAdmin
from commerce_hq.channels.models import Device

from .models import DistributedParameters, OfflineTransaction
from .selectors import channel_versions


@admin.register(DistributedParameters)
class DistributedParametersAdmin(ReadOnlyAdmin):
    list_display = ("channel", "version", "distributed_at")
    list_filter = ("channel__legal_entity", "channel")
    list_select_related = ("channel",)
    change_list_template = "admin/channel_db/distributedparameters/change_list.html"
    readonly_fields = ("channel", "version", "distributed_at", "payload_json")
    fields = readonly_fields

    @admin.display(description="Parameters as served")
    def payload_json(self, row: DistributedParameters) -> str:
        return format_html("<pre>{}</pre>", json.dumps(row.payload, indent=2, sort_keys=True))

    def changelist_view(self, request, extra_context=None):
        devices = Device.objects.filter(deactivated_at__isnull=True).select_related("register__channel")
        extra = {"channels": channel_versions(), "devices": devices, **(extra_context or {})}
        return super().changelist_view(request, extra)


class ConflictFilter(admin.SimpleListFilter):
    title = "re-upload with other content"
    parameter_name = "conflict"

    def lookups(self, request, model_admin):
        return [("yes", "Yes (flagged)"), ("no", "No (original)")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(conflict_of__isnull=self.value() == "no")
        return queryset


@admin.register(OfflineTransaction)
class OfflineTransactionAdmin(ReadOnlyAdmin):
    list_display = ("transaction_id", "register", "concluded_at", "received_at", "status", "applied_at", "conflict")
    list_filter = ("status", ConflictFilter, "register__channel", "register")
    list_select_related = ("register__channel",)
    search_fields = ("transaction_id",)
    date_hierarchy = "received_at"
    readonly_fields = (
        "transaction_id",
        "register",
        "device",
        "staff_id",
        "concluded_at",
        "received_at",
        "status",
        "applied_at",
        "conflict",
        "content_hash",
        "operations_table",
        "exceptions",
    )
    fields = readonly_fields

    @admin.display(description="Flagged re-upload of", ordering="conflict_of")
    def conflict(self, row: OfflineTransaction) -> str:
        if row.conflict_of_id is None:
            return "—"
        url = reverse("admin:channel_db_offlinetransaction_change", args=[row.conflict_of_id])
        return format_html('<a href="{}">upload {}</a>', url, row.conflict_of_id)

    @admin.display(description="Operations")
    def operations_table(self, row: OfflineTransaction) -> str:
        cells = [
            (op["type"], op["number"], op.get("amount", ""), op.get("currency", ""), op.get("remainder_number", ""))
            for op in row.operations
        ]
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", cells)
        return format_html(
            "<table><tr><th>Type</th><th>Number</th><th>Amount</th><th>Currency</th><th>Remainder</th></tr>{}</table>",
            body,
        )

    @admin.display(description="Sync exceptions")
    def exceptions(self, row: OfflineTransaction) -> str:
        found = row.sync_exceptions.order_by("id")
        if not found:
            return "none"
        url = reverse("admin:distribution_syncexception_changelist")
        items = format_html_join("", "<li><b>{}</b>: {}</li>", ((e.code, e.detail) for e in found))
        return format_html(
            '<ul>{}</ul><a href="{}?q={}">Open in the sync exception queue</a>', items, url, row.transaction_id
        )
