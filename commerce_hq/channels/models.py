from django.conf import settings
from django.db import models
from django.db.models import Q


class LegalEntity(models.Model):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=120)
    currency = models.CharField(max_length=3, default="USD", help_text="Accounting currency (ISO 4217).")

    class Meta:
        verbose_name_plural = "legal entities"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Channel(models.Model):
    """A store: the retail channel registers belong to."""

    legal_entity = models.ForeignKey(LegalEntity, on_delete=models.PROTECT, related_name="channels")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=120, blank=True)
    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. USD.")
    cash_out_threshold = models.DecimalField(
        max_digits=19,
        decimal_places=6,
        default=0,
        help_text="A gift card may be cashed out only when its balance is at or below this amount.",
    )

    class Meta:
        ordering = ["legal_entity__code", "code"]
        constraints = [
            models.UniqueConstraint(fields=["legal_entity", "code"], name="channel_code_unique_per_entity"),
            models.CheckConstraint(condition=Q(cash_out_threshold__gte=0), name="channel_cash_out_threshold_gte_0"),
        ]

    def __str__(self) -> str:
        return self.code


class Register(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="registers")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["channel__code", "code"]
        constraints = [models.UniqueConstraint(fields=["channel", "code"], name="register_code_unique_per_channel")]

    def __str__(self) -> str:
        return f"{self.channel.code}/{self.code}"


class Device(models.Model):
    """A physical POS device activated for a register; authenticates with a hashed token."""

    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="devices")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_prefix = models.CharField(max_length=8, editable=False, help_text="First characters, to recognise a token.")
    activated_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)
    parameters_version = models.PositiveIntegerField(default=0, help_text="Last parameter version fetched.")
    parameters_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["register__channel__code", "register__code", "id"]

    def __str__(self) -> str:
        return f"Device {self.pk} ({self.register})"

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None


class ActivationCode(models.Model):
    """One-time code that turns into a device token; only its hash is stored."""

    register = models.ForeignKey(Register, on_delete=models.CASCADE, related_name="activation_codes")
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    device = models.OneToOneField(Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Activation code for {self.register}"
