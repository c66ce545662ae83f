from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from commerce_hq.errors import DomainError
from commerce_hq.money import format_amount
from commerce_hq.stored_value.locks import mask
from commerce_hq.stored_value.services import gift_card_adjust


class Command(BaseCommand):
    help = (
        "Correct a gift card balance with an adjustment entry (never an edit): a signed amount and a "
        "mandatory reason, e.g. adjust_balance 6012000000000001 -2.50 --reason 'till count'."
    )

    def add_arguments(self, parser):
        parser.add_argument("number")
        parser.add_argument("amount", help="Signed amount: positive credits the card, negative debits it.")
        parser.add_argument("--reason", required=True, help="Kept on the ledger entry.")

    def handle(self, *args, number, amount, reason, **options):
        try:
            card, _ = gift_card_adjust(number=number.upper(), amount=Decimal(amount), user=None, reason=reason)
        except InvalidOperation as exc:
            raise CommandError(f"{amount!r} is not an amount.") from exc
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        balance = format_amount(card.balance, card.currency)
        self.stdout.write(f"Gift card {mask(card.number)}: adjustment booked, balance {balance} {card.currency}.")
