from django.core.management.base import BaseCommand, CommandError

from commerce_hq.channels.models import LegalEntity
from commerce_hq.parameters.services import InvalidParameter, parameters_get, parameters_update


class Command(BaseCommand):
    help = (
        "Change a Commerce parameter as an admin would (audited, new version; distribute it with job 1110). "
        "Example: set_parameter gift_card.allow_offline_conclusion true"
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Dotted key, e.g. gift_card.offline_limit.")
        parser.add_argument("value", help="true/false, a number, an amount, or none to clear a limit.")
        parser.add_argument("--legal-entity", default="DEMO")

    def handle(self, *args, name, value, legal_entity, **options):
        entity = LegalEntity.objects.filter(code=legal_entity).first()
        if entity is None:
            raise CommandError(f"No legal entity {legal_entity}.")
        try:
            version = parameters_update(legal_entity=entity, changes={name: value}, source="cli")
        except InvalidParameter as exc:
            raise CommandError(exc.detail) from exc
        if version is None:
            current = parameters_get(legal_entity=entity).version
            self.stdout.write(f"{name} already had that value; version {current} unchanged.")
            return
        old, new = version.changes[name]
        self.stdout.write(f"{name}: {old} -> {new}; Commerce parameters of {entity} now at version {version.version}.")
        self.stdout.write("Not yet distributed: run job 1110 (python manage.py run_job 1110) to publish it.")
