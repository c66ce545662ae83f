from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from commerce_hq.channels.models import Device


class IdempotencyKey(models.Model):
    """The first successful response to a POST sent with an ``Idempotency-Key``, per device.

    The row is inserted before the request runs, inside the request's transaction, so
    a concurrent twin waits on the unique index and then replays; a non-2xx outcome
    rolls the row back and the key may be used again.
    """

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and canonical JSON body.")
    status_code = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "key"], name="idempotency_key_unique_per_device")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created_at")]

    def __str__(self) -> str:
        return f"Idempotency key {self.key[:16]} (device {self.device_id})"
