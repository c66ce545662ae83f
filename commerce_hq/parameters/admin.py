"""Commerce parameters in the back office: one page per legal entity, laid out like the source
product (tabs, the Posting tab's Gift card and Credit memo fasttabs), with the version history.

Saving calls ``parameters_update``; the admin never saves the model itself.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from commerce_hq.channels.models import LegalEntity
from commerce_hq.errors import DomainError
from pos_api.channel_db.selectors import channel_versions

from .forms import CommerceParametersForm
from .models import CommerceParameters, ParameterVersion
from .services import PARAMETERS, parameters_get, parameters_update

FASTTAB_TITLES = {"gift_card": "Gift card", "credit_memo": "Credit memo"}
HISTORY_LIMIT = 50


def parameter_label(key: str) -> str:
    """``gift_card.lock_timeout_minutes`` → ``Gift card › Lock timeout (minutes)``."""
    parameter = PARAMETERS.get(key)
    if parameter is None:
        return key
    fasttab = FASTTAB_TITLES[key.split(".", 1)[0]]
    return f"{fasttab} › {CommerceParameters._meta.get_field(parameter.field).verbose_name}"


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return "(blank)" if value in (None, "") else str(value)


def fasttab_summary(params: CommerceParameters, prefix: str) -> str:
    """What a collapsed fasttab shows in its header: the saved switch and lock timeout."""
    offline = shown(getattr(params, f"{prefix}_allow_offline_conclusion"))
    timeout = getattr(params, f"{prefix}_lock_timeout_minutes")
    return f"Offline: {offline} · Lock timeout: {f'{timeout} min' if timeout else 'never'}"


def history_rows(legal_entity: LegalEntity) -> list[dict]:
    versions = (
        ParameterVersion.objects.filter(legal_entity=legal_entity)
        .select_related("changed_by")
        .order_by("-version")[:HISTORY_LIMIT]
    )
    return [
        {
            "version": version,
            "changes": [(parameter_label(key), shown(old), shown(new)) for key, (old, new) in version.changes.items()],
        }
        for version in versions
    ]


def distribution_rows(legal_entity: LegalEntity, current_version: int) -> list[dict]:
    rows = []
    for channel in channel_versions().filter(legal_entity=legal_entity).order_by("code"):
        version = channel.distributed_version or 0
        rows.append(
            {
                "channel": channel,
                "version": version,
                "distributed_at": channel.distributed_at,
                "behind": version < current_version,
            }
        )
    return rows


@admin.register(CommerceParameters)
class CommerceParametersAdmin(admin.ModelAdmin):
    """The list is the legal entities; each opens its Commerce parameters page."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and request.user.has_perm(
            "parameters.change_offline_parameters"
        )

    def get_urls(self):
        page = path(
            "legal-entity/<int:legal_entity_id>/",
            self.admin_site.admin_view(self.legal_entity_view),
            name="parameters_commerceparameters_legal_entity",
        )
        return [page, *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        versions = dict(CommerceParameters.objects.values_list("legal_entity_id", "version"))
        entities = [{"entity": entity, "version": versions.get(entity.pk)} for entity in LegalEntity.objects.all()]
        context = {**self._context(request, "Commerce parameters"), "entities": entities}
        return TemplateResponse(request, "admin/parameters/commerceparameters/legal_entities.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        params = get_object_or_404(CommerceParameters, pk=object_id)
        return redirect(page_url(params.legal_entity))

    def legal_entity_view(self, request, legal_entity_id: int):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        legal_entity = get_object_or_404(LegalEntity, pk=legal_entity_id)
        params = parameters_get(legal_entity=legal_entity)
        can_change = self.has_change_permission(request)
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = CommerceParametersForm(request.POST, params=params)
            if form.is_valid() and self._save(request, legal_entity, form):
                return redirect(page_url(legal_entity) + "#posting")
        else:
            form = CommerceParametersForm(params=params, read_only=not can_change)
        return self._render_page(request, legal_entity, params, form, can_change)

    def _save(self, request, legal_entity: LegalEntity, form: CommerceParametersForm) -> bool:
        """Save through the service, refusing a form opened on an older version than the current one."""
        try:
            saved = parameters_update(
                legal_entity=legal_entity,
                changes=form.changes(),
                changed_by=request.user,
                source="admin",
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as exc:
            form.add_error(None, exc.detail)
            return False
        if saved is None:
            messages.info(request, "Nothing changed: no new version was saved.")
        else:
            messages.success(
                request,
                f"Saved version {saved.version} of the Commerce parameters of {legal_entity.code}. Not yet "
                "distributed: run job 1110 (Global configuration) to publish it to the stores.",
            )
        return True

    def _render_page(self, request, legal_entity, params, form, can_change: bool):
        context = {
            **self._context(request, f"Commerce parameters · {legal_entity.code}"),
            "legal_entity": legal_entity,
            "params": params,
            "form": form,
            "fasttabs": [
                {
                    "slug": prefix.replace("_", "-"),
                    "title": title,
                    "fields": form.fasttab(prefix),
                    "summary": fasttab_summary(params, prefix),
                }
                for prefix, title in FASTTAB_TITLES.items()
            ],
            "can_change": can_change,
            "history": history_rows(legal_entity),
            "distribution": distribution_rows(legal_entity, params.version),
            "entities": LegalEntity.objects.all(),
        }
        return TemplateResponse(request, "admin/parameters/commerceparameters/page.html", context)

    def _context(self, request, title: str) -> dict:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title}


def page_url(legal_entity: LegalEntity) -> str:
    return reverse("admin:parameters_commerceparameters_legal_entity", args=[legal_entity.pk])
