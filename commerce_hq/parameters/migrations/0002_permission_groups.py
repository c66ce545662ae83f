"""The back office's permission groups. Idempotent: running it again only adds what is missing."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Parameter managers": {
        "parameters": [
            "view_commerceparameters",
            "change_commerceparameters",
            "change_offline_parameters",
            "view_parameterversion",
        ],
        "channels": ["view_legalentity", "view_channel"],
    },
    "Stored-value operators": {
        "stored_value": [
            "view_giftcard",
            "view_creditmemo",
            "view_ledgerentry",
            "view_shortfallentry",
            "view_auditevent",
            "release_lock_giftcard",
            "release_lock_creditmemo",
            "block_giftcard",
            "void_creditmemo",
        ],
    },
    "Ops": {
        "channels": [
            "view_legalentity",
            "view_channel",
            "view_register",
            "change_register",
            "view_device",
            "change_device",
            "view_activationcode",
        ],
    },
}


def ensure_permissions(apps) -> None:
    """Permissions are normally made after all migrations ran; make them now so the groups can hold them."""
    for app_config in apps.get_app_configs():
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = previous


def create_groups(apps, schema_editor):
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, by_app in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in by_app.items():
            permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
            missing = set(codenames) - set(permissions.values_list("codename", flat=True))
            if missing:
                raise RuntimeError(f"Missing permissions for {name}: {sorted(missing)}")
            group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("channels", "0001_initial"),
        ("parameters", "0001_initial"),
        ("stored_value", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
