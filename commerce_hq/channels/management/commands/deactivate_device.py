from django.core.management.base import BaseCommand

from commerce_hq.channels.services import register_devices_deactivate

from ._registers import find_register


class Command(BaseCommand):
    help = "Deactivate every active device of a register; each is refused on its very next call."

    def add_arguments(self, parser):
        parser.add_argument("--register", required=True, help="Register code, e.g. REG1.")
        parser.add_argument("--channel", help="Channel (store) code, e.g. STORE1.")

    def handle(self, *args, register, channel, **options):
        found = find_register(register, channel)
        count = register_devices_deactivate(register=found)
        self.stdout.write(f"Deactivated {count} device(s) of {found}.")
