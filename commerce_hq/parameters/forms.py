"""The Commerce parameters form: the Posting tab's Gift card and Credit memo fasttabs.

A plain form, never a ModelForm: saving goes through ``parameters_update`` so that
every change is versioned with who changed what.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from commerce_hq import money

from .models import CommerceParameters
from .services import MAX_OFFLINE_HOURS, PARAMETERS

MAX_LOCK_MINUTES = 7 * 24 * 60
STALE_FORM = "This form does not say which version it was opened on: reload the page and try again."

FASTTABS = {
    "gift_card": (
        "gift_card_product",
        "gift_card_allow_offline_conclusion",
        "gift_card_lock_timeout_minutes",
        "gift_card_offline_limit",
        "gift_card_max_balance",
        "gift_card_offline_register_limit",
        "gift_card_offline_max_hours",
    ),
    "credit_memo": (
        "credit_memo_allow_offline_conclusion",
        "credit_memo_lock_timeout_minutes",
        "credit_memo_offline_limit",
        "credit_memo_offline_register_limit",
        "credit_memo_offline_max_hours",
    ),
}


def _model_field(name: str):
    return CommerceParameters._meta.get_field(name)


def _switch(name: str) -> forms.BooleanField:
    field = _model_field(name)
    return forms.BooleanField(
        label=field.verbose_name,
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "switch", "role": "switch"}),
    )


def _optional(name: str) -> dict[str, Any]:
    """Label and help text of the model field, for an optional (blank = none) form field."""
    field = _model_field(name)
    return {"label": field.verbose_name, "help_text": field.help_text, "required": False}


def _minutes(name: str) -> forms.IntegerField:
    return forms.IntegerField(
        **_optional(name),
        min_value=1,
        max_value=MAX_LOCK_MINUTES,
        widget=forms.NumberInput(attrs={"placeholder": "Never"}),
    )


def _hours(name: str) -> forms.IntegerField:
    return forms.IntegerField(
        **_optional(name),
        min_value=1,
        max_value=MAX_OFFLINE_HOURS,
        widget=forms.NumberInput(attrs={"placeholder": "No limit"}),
    )


def _amount(name: str) -> forms.DecimalField:
    return forms.DecimalField(
        **_optional(name),
        max_digits=19,
        decimal_places=6,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "No limit"}),
    )


class CommerceParametersForm(forms.Form):
    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={key: STALE_FORM for key in ("required", "invalid", "min_value")},
    )
    gift_card_product = forms.CharField(
        label=_model_field("gift_card_product").verbose_name, max_length=40, required=False
    )
    gift_card_allow_offline_conclusion = _switch("gift_card_allow_offline_conclusion")
    gift_card_lock_timeout_minutes = _minutes("gift_card_lock_timeout_minutes")
    gift_card_offline_limit = _amount("gift_card_offline_limit")
    gift_card_max_balance = _amount("gift_card_max_balance")
    gift_card_offline_register_limit = _amount("gift_card_offline_register_limit")
    gift_card_offline_max_hours = _hours("gift_card_offline_max_hours")
    credit_memo_allow_offline_conclusion = _switch("credit_memo_allow_offline_conclusion")
    credit_memo_lock_timeout_minutes = _minutes("credit_memo_lock_timeout_minutes")
    credit_memo_offline_limit = _amount("credit_memo_offline_limit")
    credit_memo_offline_register_limit = _amount("credit_memo_offline_register_limit")
    credit_memo_offline_max_hours = _hours("credit_memo_offline_max_hours")

    def __init__(self, *args, params: CommerceParameters, read_only: bool = False, **kwargs) -> None:
        self.currency = params.legal_entity.currency
        kwargs.setdefault("initial", self.initial_from(params))
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.disabled = read_only

    def initial_from(self, params: CommerceParameters) -> dict[str, Any]:
        initial: dict[str, Any] = {"version": params.version}
        for parameter in PARAMETERS.values():
            value = getattr(params, parameter.field)
            initial[parameter.field] = (
                money.format_amount(value, self.currency) if isinstance(value, Decimal) else value
            )
        return initial

    def fasttab(self, name: str) -> list[forms.BoundField]:
        return [self[field] for field in FASTTABS[name]]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name, value in list(cleaned.items()):
            if isinstance(value, Decimal):
                self._check_amount(name, value)
        return cleaned

    def _check_amount(self, name: str, value: Decimal) -> None:
        if value <= 0:
            self.add_error(name, "Enter an amount greater than zero, or leave it blank for no limit.")
        elif value != money.quantize(value, self.currency):
            self.add_error(name, f"{self.currency} amounts have at most {money.decimals(self.currency)} decimals.")

    def changes(self) -> dict[str, Any]:
        """The submitted values as ``parameters_update`` takes them: ``{dotted key: value}``."""
        return {key: self.cleaned_data[parameter.field] for key, parameter in PARAMETERS.items()}
