from django.core.management.base import BaseCommand, CommandError

from commerce_hq.errors import DomainError
from commerce_hq.stored_value.services import gift_card_set_blocked


class Command(BaseCommand):
    help = "Block (or with --unblock, unblock) a gift card; a blocked card answers 422 card_inactive."

    def add_arguments(self, parser):
        parser.add_argument("number")
        parser.add_argument("--unblock", action="store_true")
        parser.add_argument("--reason", default="", help="Recorded in the card's audit trail.")

    def handle(self, *args, number, unblock, reason, **options):
        try:
            card = gift_card_set_blocked(number=number, blocked=not unblock, reason=reason or "command line")
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Gift card …{card.number[-4:]} is {card.status}.")
