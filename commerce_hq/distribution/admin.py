"""Back office for distribution: job runs with live progress and "Run now", and the sync
exception queue with "Resolve with note". Both call the distribution services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from commerce_hq.admin_site import ReadOnlyAdmin
from commerce_hq.stored_value.locks import mask

from . import services
from .models import Job, JobRun, SyncException

REFRESH_SECONDS = 3


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "job",
        "trigger",
        "status",
        "started_at",
        "duration",
        "progress",
        "channels_updated",
        "transactions_applied",
        "exceptions_raised",
    )
    list_filter = ("job", "status", "trigger", "started_at")
    date_hierarchy = "started_at"
    change_list_template = "admin/distribution/jobrun/change_list.html"
    fields = (
        ("job", "trigger", "status"),
        ("started_at", "finished_at"),
        "progress",
        ("channels_updated", "transactions_applied", "exceptions_raised"),
        "note",
        "error",
    )
    readonly_fields = (
        "job",
        "trigger",
        "status",
        "started_at",
        "finished_at",
        "progress",
        "channels_updated",
        "transactions_applied",
        "exceptions_raised",
        "note",
        "error",
    )

    @admin.display(description="Duration")
    def duration(self, run: JobRun) -> str:
        return "—" if run.seconds is None else f"{run.seconds:.1f} s"

    @admin.display(description="Progress")
    def progress(self, run: JobRun) -> str:
        if not run.progress_total:
            return "—" if run.status == JobRun.Status.RUNNING else "nothing to apply"
        percent = 100 * run.progress_done // run.progress_total
        return format_html(
            '<progress max="100" value="{}"></progress> {}/{} ({}%)',
            percent,
            run.progress_done,
            run.progress_total,
            percent,
        )

    def get_urls(self):
        run_now = self.admin_site.admin_view(require_POST(self.run_now_view))
        return [path("run/<str:job>/", run_now, name="distribution_jobrun_run"), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        extra = {
            "jobs": Job.choices,
            "can_run": request.user.has_perm("distribution.run_job"),
            "refresh_seconds": REFRESH_SECONDS if JobRun.objects.filter(status=JobRun.Status.RUNNING).exists() else 0,
            **(extra_context or {}),
        }
        return super().changelist_view(request, extra)

    def run_now_view(self, request, job: str):
        """Run now: queue the job (after commit) for the workers, recorded as trigger=admin."""
        if not request.user.has_perm("distribution.run_job"):
            raise PermissionDenied
        try:
            services.job_queue(job=job, trigger=JobRun.Trigger.ADMIN)
        except services.UnknownJob as exc:
            self.message_user(request, exc.detail, messages.ERROR)
        else:
            self.message_user(request, f"{Job(job).label} queued; its run appears below.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:distribution_jobrun_changelist"))


class ResolvedFilter(admin.SimpleListFilter):
    title = "resolved"
    parameter_name = "resolved"

    def lookups(self, request, model_admin):
        return [("no", "Open"), ("yes", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(resolved_at__isnull=self.value() == "no")
        return queryset


class ResolveForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
        help_text="What was done about it (kept with the exception).",
    )


@admin.register(SyncException)
class SyncExceptionAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "code",
        "channel",
        "register",
        "transaction",
        "account",
        "amount",
        "is_resolved",
        "resolved_by",
    )
    list_filter = ("code", ResolvedFilter, "channel", "register")
    list_select_related = ("channel", "register__channel", "offline_transaction", "gift_card", "credit_memo")
    search_fields = ("offline_transaction__transaction_id",)
    search_help_text = "The register's transaction id."
    actions = ["resolve_with_note"]
    fields = (
        ("code", "created_at"),
        "detail",
        ("channel", "register", "transaction"),
        ("account", "amount"),
        ("resolved_at", "resolved_by"),
        "note",
    )
    readonly_fields = (
        "code",
        "created_at",
        "detail",
        "channel",
        "register",
        "transaction",
        "account",
        "amount",
        "resolved_at",
        "resolved_by",
        "note",
    )

    @admin.display(description="Transaction", ordering="offline_transaction__transaction_id")
    def transaction(self, exc: SyncException) -> str:
        url = reverse("admin:channel_db_offlinetransaction_change", args=[exc.offline_transaction_id])
        return format_html('<a href="{}">{}</a>', url, exc.offline_transaction.transaction_id)

    @admin.display(description="Card / memo")
    def account(self, exc: SyncException) -> str:
        target = exc.gift_card or exc.credit_memo
        if target is None:
            return "—"
        name = "giftcard" if exc.gift_card_id else "creditmemo"
        url = reverse(f"admin:stored_value_{name}_change", args=[target.pk])
        return format_html('<a href="{}">{} {}</a>', url, target._meta.verbose_name.capitalize(), mask(target.number))

    @admin.display(description="Resolved", boolean=True, ordering="resolved_at")
    def is_resolved(self, exc: SyncException) -> bool:
        return exc.is_resolved

    def has_resolve_permission(self, request) -> bool:
        return request.user.has_perm("distribution.resolve_syncexception")

    @admin.action(description="Resolve with note", permissions=["resolve"])
    def resolve_with_note(self, request, queryset):
        form = ResolveForm(request.POST if "confirm" in request.POST else None)
        if form.is_valid():
            ids = list(queryset.values_list("pk", flat=True))
            done = services.sync_exceptions_resolve(ids=ids, user=request.user, note=form.cleaned_data["note"])
            self.message_user(request, f"{done} sync exception(s) resolved.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve sync exceptions",
            "opts": self.model._meta,
            "objects": queryset.select_related("register__channel", "offline_transaction"),
            "form": form,
            "action_name": "resolve_with_note",
        }
        return render(request, "admin/distribution/syncexception/resolve.html", context)
