"""Idempotent demo data: legal entity DEMO, store STORE1 with REG1..REG4, an admin, cards and memos."""

import os
import secrets
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from commerce_hq.channels.models import Channel, LegalEntity, Register
from commerce_hq.distribution.services import schedules_ensure
from commerce_hq.parameters.services import parameters_get
from commerce_hq.stored_value.models import GiftCard, LedgerEntry
from commerce_hq.stored_value.services import Actor, credit_memo_issue, gift_card_issue

DEMO_CARDS = {"6012000000000001": "100.00", "6012000000000019": "250.00", "6012000000000027": "4.50"}
DEMO_MEMOS = {"SEED-MEMO-1": "50.00", "SEED-MEMO-2": "20.00"}


class Command(BaseCommand):
    help = "Create (or top up to) the demo data; safe to run again. Prints how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--admin-username", default=os.environ.get("DEMO_ADMIN_USERNAME", "admin"))
        parser.add_argument(
            "--admin-password",
            default=os.environ.get("DEMO_ADMIN_PASSWORD", ""),
            help="Password for a newly created admin (default: a random one, printed once).",
        )

    def handle(self, *args, admin_username, admin_password, **options):
        with transaction.atomic():
            channel = self._channel()
            registers = [self._register(channel, f"REG{n}") for n in range(1, 5)]
            parameters_get(legal_entity=channel.legal_entity)
            schedules_ensure()
            cards = self._cards(channel, registers[0])
            memos = self._memos(channel, registers[0])
            login = self._admin(admin_username, admin_password)
        self.stdout.write(
            f"Demo data ready: legal entity DEMO, channel STORE1 (USD), registers REG1..REG4, "
            f"{cards} new gift card(s), {memos} new credit memo(s)."
        )
        self.stdout.write(f"Gift cards: {', '.join(DEMO_CARDS)}")
        self.stdout.write(login)

    def _channel(self) -> Channel:
        entity, _ = LegalEntity.objects.get_or_create(
            code="DEMO", defaults={"name": "Demo Retail Inc.", "currency": "USD"}
        )
        channel, _ = Channel.objects.get_or_create(
            legal_entity=entity,
            code="STORE1",
            defaults={"name": "Store 1", "currency": "USD", "cash_out_threshold": Decimal("5.00")},
        )
        return channel

    def _register(self, channel: Channel, code: str) -> Register:
        return Register.objects.get_or_create(channel=channel, code=code, defaults={"name": f"Register {code[3:]}"})[0]

    def _cards(self, channel: Channel, register: Register) -> int:
        created = 0
        for number, amount in DEMO_CARDS.items():
            if not GiftCard.objects.filter(number=number).exists():
                gift_card_issue(
                    channel=channel,
                    actor=Actor.pos(register, staff_id="demo"),
                    transaction_id=f"SEED-{number}",
                    amount=Decimal(amount),
                    currency="USD",
                    number=number,
                )
                created += 1
        return created

    def _memos(self, channel: Channel, register: Register) -> int:
        created = 0
        for transaction_id, amount in DEMO_MEMOS.items():
            if not LedgerEntry.objects.filter(transaction_id=transaction_id, credit_memo__isnull=False).exists():
                memo, _ = credit_memo_issue(
                    channel=channel,
                    actor=Actor.pos(register, staff_id="demo"),
                    transaction_id=transaction_id,
                    amount=Decimal(amount),
                    currency="USD",
                )
                self.stdout.write(f"Credit memo {memo.number}: {amount} USD")
                created += 1
        return created

    def _admin(self, username: str, password: str) -> str:
        users = get_user_model().objects
        if users.filter(username=username).exists():
            return (
                f"Log in at /admin/ as {username!r} (existing user; password unchanged — "
                f"reset it with: python manage.py changepassword {username})."
            )
        password = password or secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        return f"Log in at /admin/ as {username!r} with password {password!r}."
