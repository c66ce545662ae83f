"""Job 1110 Global configuration: Commerce parameters → every channel of the legal entity."""

from __future__ import annotations

from commerce_hq.channels.models import LegalEntity
from commerce_hq.parameters.services import parameters_get, parameters_snapshot
from pos_api.channel_db.services import distributed_parameters_publish


def parameters_distribute() -> int:
    """Publish each legal entity's current parameter version to each of its channels that
    lacks it, invalidating those channels' cached parameters at once; returns how many
    channels got a new version. Safe to run twice at once (one row per channel and version)."""
    updated = 0
    for entity in LegalEntity.objects.prefetch_related("channels"):
        params = parameters_get(legal_entity=entity)
        channel_ids = [channel.pk for channel in entity.channels.all()]
        published = distributed_parameters_publish(
            channel_ids=channel_ids, version=params.version, payload=parameters_snapshot(params=params)
        )
        updated += len(published)
    return updated
