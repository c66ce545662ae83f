from django.db import models

from commerce_hq.channels.models import Channel


class DistributedParameters(models.Model):
    """A Commerce parameters version as published to one channel by job 1110.

    Rows are kept (never updated) so the version in effect at any moment can be
    looked up: the upload job judges an offline conclusion on the version the
    channel had when the register concluded it.
    """

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="distributed_parameters")
    version = models.PositiveIntegerField()
    payload = models.JSONField(help_text="The POS API parameters body without version/distributed_at.")
    distributed_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "distributed parameters"
        ordering = ["channel", "-distributed_at"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "version"], name="distributed_parameters_unique_version"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code} v{self.version}"
