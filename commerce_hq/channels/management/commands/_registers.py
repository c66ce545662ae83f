"""Finding a register by code from the command line."""

from django.core.management.base import CommandError

from commerce_hq.channels.models import Register


def find_register(code: str, channel_code: str | None) -> Register:
    registers = Register.objects.select_related("channel").filter(code=code)
    if channel_code:
        registers = registers.filter(channel__code=channel_code)
    found = list(registers[:2])
    if not found:
        where = f" in channel {channel_code}" if channel_code else ""
        raise CommandError(f"No register {code}{where}.")
    if len(found) > 1:
        raise CommandError(f"Register {code} exists in several channels; name one with --channel.")
    return found[0]
