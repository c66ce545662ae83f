"""What a channel has been given: the parameters in effect now or at a past moment."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.db.models import OuterRef, QuerySet, Subquery

from commerce_hq.channels.models import Channel

from .models import DistributedParameters, OfflineTransaction

CACHE_SECONDS = 300

NOT_YET_DISTRIBUTED = {
    "gift_card": {
        "allow_offline_conclusion": False,
        "lock_timeout_minutes": None,
        "offline_limit": None,
        "max_balance": None,
        "offline_register_limit": None,
        "offline_max_hours": None,
    },
    "credit_memo": {
        "allow_offline_conclusion": False,
        "lock_timeout_minutes": None,
        "offline_limit": None,
        "offline_register_limit": None,
        "offline_max_hours": None,
    },
}


@dataclass(frozen=True)
class ChannelParameters:
    version: int
    distributed_at: datetime | None
    payload: dict

    def body(self) -> dict:
        """The POS API ``parameters`` response body."""
        return {"version": self.version, "distributed_at": self.distributed_at, **self.payload}


def channel_parameters(*, channel: Channel, at: datetime | None = None) -> ChannelParameters:
    """The latest version distributed to ``channel`` (at or before ``at`` when given); version 0
    with both switches off before the first distribution."""
    rows = DistributedParameters.objects.filter(channel=channel)
    if at is not None:
        rows = rows.filter(distributed_at__lte=at)
    row = rows.order_by("-distributed_at", "-version").first()
    if row is None:
        return ChannelParameters(version=0, distributed_at=None, payload=NOT_YET_DISTRIBUTED)
    return ChannelParameters(version=row.version, distributed_at=row.distributed_at, payload=row.payload)


def _cache_key(channel_id: int) -> str:
    return f"channel-parameters:{channel_id}"


def channel_parameters_current(*, channel: Channel) -> ChannelParameters:
    """What the POS API serves: the latest distributed version, from the channel cache.
    Job 1110 calls ``channel_parameters_invalidate`` right after publishing, so a new version
    is served at once (the timeout is only a safety net)."""
    key = _cache_key(channel.pk)
    found = cache.get(key)
    if found is None:
        found = channel_parameters(channel=channel)
        cache.set(key, found, timeout=CACHE_SECONDS)
    return found


def channel_parameters_invalidate(*, channel_id: int) -> None:
    cache.delete(_cache_key(channel_id))


@dataclass(frozen=True)
class ParametersTimeline:
    """Every version distributed to some channels, to answer ``channel_parameters(at=)`` for many
    moments with one query. ``at`` agrees with ``channel_parameters(channel=, at=)``."""

    versions: dict[int, list[ChannelParameters]]

    def at(self, *, channel_id: int, when: datetime) -> ChannelParameters:
        history = self.versions.get(channel_id, [])
        index = bisect_right(history, when, key=lambda p: p.distributed_at)
        if index == 0:
            return ChannelParameters(version=0, distributed_at=None, payload=NOT_YET_DISTRIBUTED)
        return history[index - 1]


def parameters_timeline(*, channel_ids: Iterable[int]) -> ParametersTimeline:
    versions: dict[int, list[ChannelParameters]] = {}
    rows = DistributedParameters.objects.filter(channel_id__in=set(channel_ids)).order_by("distributed_at", "version")
    for row in rows:
        versions.setdefault(row.channel_id, []).append(
            ChannelParameters(version=row.version, distributed_at=row.distributed_at, payload=row.payload)
        )
    return ParametersTimeline(versions=versions)


def offline_transaction_get(*, register_id: int, transaction_id: str) -> OfflineTransaction | None:
    """A register's staged upload (the original, not a flagged conflicting re-upload)."""
    return OfflineTransaction.objects.filter(
        register_id=register_id, transaction_id=transaction_id, conflict_of__isnull=True
    ).first()


def offline_transactions_pending() -> QuerySet:
    return OfflineTransaction.objects.filter(status=OfflineTransaction.Status.PENDING)


def channel_versions() -> QuerySet:
    """Each channel with the version it was last given and when (None before the first)."""
    latest = DistributedParameters.objects.filter(channel=OuterRef("pk")).order_by("-distributed_at", "-version")
    return Channel.objects.select_related("legal_entity").annotate(
        distributed_version=Subquery(latest.values("version")[:1]),
        distributed_at=Subquery(latest.values("distributed_at")[:1]),
    )
