from django.core.management.base import BaseCommand

from commerce_hq.channels.services import activation_code_create

from ._registers import find_register


class Command(BaseCommand):
    help = "Print a fresh one-time activation code for a register (the last line of output)."

    def add_arguments(self, parser):
        parser.add_argument("--register", required=True, help="Register code, e.g. REG1.")
        parser.add_argument("--channel", help="Channel (store) code, e.g. STORE1.")
        parser.add_argument("--ttl-minutes", type=int, help="Minutes the code stays valid.")

    def handle(self, *args, register, channel, ttl_minutes, **options):
        found = find_register(register, channel)
        code = activation_code_create(register=found, ttl_minutes=ttl_minutes)
        self.stdout.write(f"Activation code for {found} (one use):")
        self.stdout.write(code)
