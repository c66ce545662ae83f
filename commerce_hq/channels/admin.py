"""Legal entities, stores, registers and devices: which parameter version each has picked up,
activation codes for new devices and remote deactivation."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from commerce_hq import money
from commerce_hq.admin_site import ReadOnlyAdmin
from pos_api.channel_db.selectors import channel_parameters, channel_versions

from .models import ActivationCode, Channel, Device, LegalEntity, Register
from .services import activation_code_create, device_deactivate


class CurrencyForm(forms.ModelForm):
    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].strip().upper()
        if not money.is_currency(currency):
            raise forms.ValidationError("Enter an ISO 4217 currency code, such as USD or EUR.")
        return currency


@admin.register(LegalEntity)
class LegalEntityAdmin(admin.ModelAdmin):
    form = CurrencyForm
    list_display = ("code", "name", "currency", "parameters_link")
    search_fields = ("code", "name")

    @admin.display(description="Commerce parameters")
    def parameters_link(self, obj: LegalEntity) -> str:
        url = reverse("admin:parameters_commerceparameters_legal_entity", args=[obj.pk])
        return format_html('<a href="{}">Commerce parameters</a>', url)


DEVICE_COLUMNS = ("Register", "Device", "Token", "Active", "Last seen", "Parameters version", "Fetched at")


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = CurrencyForm
    list_display = ("code", "name", "legal_entity", "currency", "cash_out_threshold", "distributed_version")
    list_filter = ("legal_entity", "currency")
    list_select_related = ("legal_entity",)
    search_fields = ("code", "name")
    fields = ("legal_entity", "code", "name", "currency", "cash_out_threshold", "distributed", "device_versions")
    readonly_fields = ("distributed", "device_versions")

    def get_queryset(self, request):
        return channel_versions()

    @admin.display(description="Distributed parameters", ordering="distributed_version")
    def distributed_version(self, obj: Channel) -> str:
        return f"v{obj.distributed_version}" if obj.distributed_version else "not yet distributed"

    @admin.display(description="Distributed parameters")
    def distributed(self, obj: Channel) -> str:
        if obj.pk is None:
            return "—"
        current = channel_parameters(channel=obj)
        if not current.version:
            return "Not yet distributed (registers get version 0: both offline switches off)."
        return f"Version {current.version}, distributed {_when(current.distributed_at)} UTC"

    @admin.display(description="Version picked up by each device")
    def device_versions(self, obj: Channel) -> str:
        devices = Device.objects.filter(register__channel=obj).select_related("register").order_by("register__code")
        if obj.pk is None or not devices:
            return "No devices."
        head = format_html_join("", "<th>{}</th>", ((column,) for column in DEVICE_COLUMNS))
        rows = format_html_join("", "<tr>{}</tr>", ((self._device_cells(device),) for device in devices))
        return format_html(
            '<table id="device-versions"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, rows
        )

    def _device_cells(self, device: Device) -> str:
        values = (
            device.register.code,
            device.pk,
            device.token_prefix + "…",
            "yes" if device.is_active else "no",
            _when(device.last_seen_at),
            f"v{device.parameters_version}",
            _when(device.parameters_fetched_at),
        )
        return format_html_join("", "<td>{}</td>", ((value,) for value in values))


class DeviceInline(admin.TabularInline):
    model = Device
    extra = 0
    can_delete = False
    fields = readonly_fields = (
        "token_prefix",
        "activated_at",
        "deactivated_at",
        "last_seen_at",
        "parameters_version",
        "parameters_fetched_at",
    )
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Register)
class RegisterAdmin(admin.ModelAdmin):
    list_display = ("__str__", "channel", "code", "name", "active_devices")
    list_filter = ("channel__legal_entity", "channel")
    list_select_related = ("channel",)
    search_fields = ("code", "name", "channel__code")
    inlines = [DeviceInline]
    actions = ["create_activation_code"]

    def get_queryset(self, request):
        active = Count("devices", filter=Q(devices__deactivated_at__isnull=True))
        return super().get_queryset(request).annotate(active_device_count=active)

    @admin.display(description="Active devices", ordering="active_device_count")
    def active_devices(self, obj: Register) -> int:
        return obj.active_device_count

    @admin.action(description="Create activation code", permissions=["change"])
    def create_activation_code(self, request, queryset):
        for register in queryset.select_related("channel"):
            code = activation_code_create(register=register, created_by=request.user)
            messages.success(
                request,
                f"Activation code for register {register}: {code} — shown only this once; "
                "enter it on the new device within the validity period.",
            )


class ActiveFilter(admin.SimpleListFilter):
    title = "active"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(deactivated_at__isnull=self.value() == "yes")
        return queryset


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "register",
        "token_prefix",
        "active",
        "activated_at",
        "last_seen_at",
        "parameters_version",
        "parameters_fetched_at",
    )
    list_filter = (ActiveFilter, "register__channel")
    list_select_related = ("register__channel",)
    fields = (
        "register",
        "token_prefix",
        "active",
        "activated_at",
        "deactivated_at",
        "deactivated_by",
        "last_seen_at",
        "parameters_version",
        "parameters_fetched_at",
    )
    readonly_fields = fields
    actions = ["deactivate"]

    @admin.display(description="Active", boolean=True)
    def active(self, obj: Device) -> bool:
        return obj.is_active

    def has_deactivate_permission(self, request) -> bool:
        return request.user.has_perm("channels.change_device")

    @admin.action(description="Deactivate", permissions=["deactivate"])
    def deactivate(self, request, queryset):
        devices = list(queryset.filter(deactivated_at__isnull=True).order_by("pk"))
        for device in devices:
            device_deactivate(device=device, by=request.user)
        messages.success(request, f"Deactivated {len(devices)} device(s); their tokens are refused from now on.")


@admin.register(ActivationCode)
class ActivationCodeAdmin(ReadOnlyAdmin):
    """Only the hash of a code is stored, and it is never shown."""

    list_display = ("register", "created_at", "created_by", "expires_at", "state", "device")
    list_filter = ("register__channel",)
    list_select_related = ("register__channel", "created_by", "device")
    fields = readonly_fields = ("register", "created_at", "created_by", "expires_at", "used_at", "device", "state")

    @admin.display(description="State")
    def state(self, obj: ActivationCode) -> str:
        if obj.used_at:
            return "used"
        return "expired" if obj.expires_at <= timezone.now() else "valid"
