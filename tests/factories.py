"""factory_boy factories for the HQ domain. Money rows are made through the services,
so every card and memo starts with a matching ledger."""

from decimal import Decimal

import factory

from commerce_hq.channels.models import Channel, LegalEntity, Register
from commerce_hq.stored_value import services
from commerce_hq.stored_value.services import Actor


class LegalEntityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalEntity
        django_get_or_create = ("code",)

    code = "DEMO"
    name = "Demo Retail Inc."
    currency = "USD"


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("legal_entity", "code")

    legal_entity = factory.SubFactory(LegalEntityFactory)
    code = "STORE1"
    name = "Store 1"
    currency = "USD"
    cash_out_threshold = Decimal("5.00")


class RegisterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Register
        django_get_or_create = ("channel", "code")

    channel = factory.SubFactory(ChannelFactory)
    code = factory.Sequence(lambda n: f"REG{n + 1}")


def issue_card(register: Register, amount: str = "100.00", *, number: str | None = None, currency: str = "USD"):
    card, _ = services.gift_card_issue(
        channel=register.channel,
        actor=Actor.pos(register),
        transaction_id="ISSUE-1",
        amount=Decimal(amount),
        currency=currency,
        number=number,
    )
    return card


def issue_memo(register: Register, amount: str = "50.00", *, currency: str = "USD"):
    memo, _ = services.credit_memo_issue(
        channel=register.channel,
        actor=Actor.pos(register),
        transaction_id="ISSUE-M",
        amount=Decimal(amount),
        currency=currency,
    )
    return memo
