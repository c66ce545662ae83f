"""Commerce parameters: read, change (versioned, audited) and snapshot."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from commerce_hq import money
from commerce_hq.channels.models import LegalEntity
from commerce_hq.errors import DomainError

from .models import CommerceParameters, ParameterVersion


class InvalidParameter(DomainError):
    code = "invalid_parameter"
    status = 400
    title = "Invalid parameter"


class StaleParameters(DomainError):
    code = "stale_parameters"
    status = 409
    title = "Parameters changed meanwhile"


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "yes", "on", "1"}:
        return True
    if text in {"false", "no", "off", "0"}:
        return False
    raise ValueError("expected true or false")


MAX_OFFLINE_HOURS = 30 * 24


def _parse_minutes(raw: Any) -> int | None:
    if raw is None or str(raw).strip().lower() in {"none", ""}:
        return None
    value = int(str(raw).strip())
    if not 1 <= value <= 7 * 24 * 60:
        raise ValueError("expected whole minutes from 1 to 10080, or none")
    return value


def _parse_hours(raw: Any) -> int | None:
    if raw is None or str(raw).strip().lower() in {"none", ""}:
        return None
    value = int(str(raw).strip())
    if not 1 <= value <= MAX_OFFLINE_HOURS:
        raise ValueError(f"expected whole hours from 1 to {MAX_OFFLINE_HOURS}, or none")
    return value


def _parse_limit(raw: Any) -> Decimal | None:
    if raw is None or str(raw).strip().lower() in {"none", ""}:
        return None
    amount = money.to_decimal(raw if isinstance(raw, Decimal) else str(raw).strip())
    if amount <= 0:
        raise ValueError("expected a positive amount, or none")
    return amount


def _parse_text(raw: Any) -> str:
    text = str(raw).strip()
    if len(text) > 40:
        raise ValueError("at most 40 characters")
    return text


@dataclass(frozen=True)
class Parameter:
    key: str
    field: str
    parse: Callable[[Any], Any]


PARAMETERS: dict[str, Parameter] = {
    p.key: p
    for p in [
        Parameter("gift_card.product", "gift_card_product", _parse_text),
        Parameter("gift_card.allow_offline_conclusion", "gift_card_allow_offline_conclusion", _parse_bool),
        Parameter("gift_card.lock_timeout_minutes", "gift_card_lock_timeout_minutes", _parse_minutes),
        Parameter("gift_card.offline_limit", "gift_card_offline_limit", _parse_limit),
        Parameter("gift_card.max_balance", "gift_card_max_balance", _parse_limit),
        Parameter("gift_card.offline_register_limit", "gift_card_offline_register_limit", _parse_limit),
        Parameter("gift_card.offline_max_hours", "gift_card_offline_max_hours", _parse_hours),
        Parameter("credit_memo.allow_offline_conclusion", "credit_memo_allow_offline_conclusion", _parse_bool),
        Parameter("credit_memo.lock_timeout_minutes", "credit_memo_lock_timeout_minutes", _parse_minutes),
        Parameter("credit_memo.offline_limit", "credit_memo_offline_limit", _parse_limit),
        Parameter("credit_memo.offline_register_limit", "credit_memo_offline_register_limit", _parse_limit),
        Parameter("credit_memo.offline_max_hours", "credit_memo_offline_max_hours", _parse_hours),
    ]
}


def parameters_get(*, legal_entity: LegalEntity) -> CommerceParameters:
    """The legal entity's parameters, created at version 1 with every switch off on first use."""
    return parameters_get_by_entity_id(legal_entity_id=legal_entity.pk)


def parameters_get_by_entity_id(*, legal_entity_id: int) -> CommerceParameters:
    """As ``parameters_get``, in one query when they exist (the legal entity row is not read)."""
    params = CommerceParameters.objects.filter(legal_entity_id=legal_entity_id).first()
    if params is None:
        params = _parameters_create(legal_entity=LegalEntity.objects.get(pk=legal_entity_id))
    return params


@transaction.atomic
def _parameters_create(*, legal_entity: LegalEntity) -> CommerceParameters:
    params, created = CommerceParameters.objects.get_or_create(legal_entity=legal_entity)
    if created:
        ParameterVersion.objects.create(
            legal_entity=legal_entity,
            version=params.version,
            snapshot=parameters_snapshot(params=params),
            source="initial",
        )
    return params


def parse_changes(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate ``{dotted key: raw value}``; raise InvalidParameter naming the first bad one."""
    parsed = {}
    for key, value in raw.items():
        parameter = PARAMETERS.get(key)
        if parameter is None:
            raise InvalidParameter(f"Unknown parameter {key!r}; known: {', '.join(PARAMETERS)}.")
        try:
            parsed[key] = parameter.parse(value)
        except (ValueError, TypeError, money.MoneyError) as exc:
            raise InvalidParameter(f"Bad value {value!r} for {key}: {str(exc).rstrip('.')}.") from exc
    return parsed


@transaction.atomic
def parameters_update(
    *,
    legal_entity: LegalEntity,
    changes: dict[str, Any],
    changed_by=None,
    source: str = "admin",
    expected_version: int | None = None,
) -> ParameterVersion | None:
    """Apply validated ``changes``; saves a new version when anything changed (else returns None).
    ``expected_version`` is the version a form was opened on: when someone saved since, nothing is saved."""
    parsed = parse_changes(changes)
    parameters_get(legal_entity=legal_entity)
    params = CommerceParameters.objects.select_for_update().get(legal_entity=legal_entity)
    if expected_version is not None and params.version != expected_version:
        raise StaleParameters(
            f"Someone saved version {params.version} after you opened version {expected_version}: nothing was "
            "saved. Reload the page and make your change again."
        )
    diff = {}
    for key, value in parsed.items():
        field = PARAMETERS[key].field
        old = getattr(params, field)
        if old != value:
            diff[key] = [_jsonable(old), _jsonable(value)]
            setattr(params, field, value)
    if not diff:
        return None
    params.version += 1
    params.save()
    return ParameterVersion.objects.create(
        legal_entity=legal_entity,
        version=params.version,
        snapshot=parameters_snapshot(params=params),
        changes=diff,
        changed_by=changed_by,
        source=source,
    )


def _jsonable(value: Any) -> Any:
    return format(value.normalize(), "f") if isinstance(value, Decimal) else value


def parameters_snapshot(*, params: CommerceParameters) -> dict[str, Any]:
    """The parameters shaped as the POS API's ``parameters`` body (without distribution fields)."""
    currency = params.legal_entity.currency
    return {
        "gift_card": {
            "product": params.gift_card_product,
            "allow_offline_conclusion": params.gift_card_allow_offline_conclusion,
            "lock_timeout_minutes": params.gift_card_lock_timeout_minutes,
            "offline_limit": money.format_amount(params.gift_card_offline_limit, currency),
            "max_balance": money.format_amount(params.gift_card_max_balance, currency),
            "offline_register_limit": money.format_amount(params.gift_card_offline_register_limit, currency),
            "offline_max_hours": params.gift_card_offline_max_hours,
        },
        "credit_memo": {
            "allow_offline_conclusion": params.credit_memo_allow_offline_conclusion,
            "lock_timeout_minutes": params.credit_memo_lock_timeout_minutes,
            "offline_limit": money.format_amount(params.credit_memo_offline_limit, currency),
            "offline_register_limit": money.format_amount(params.credit_memo_offline_register_limit, currency),
            "offline_max_hours": params.credit_memo_offline_max_hours,
        },
    }
