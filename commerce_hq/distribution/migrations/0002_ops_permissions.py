"""Give the "Ops" group what it needs to run and schedule distribution jobs and review sync
exceptions. Idempotent: only adds what is missing."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPS = {
    "distribution": ["view_jobrun", "run_job", "view_syncexception", "resolve_syncexception"],
    "channel_db": ["view_offlinetransaction", "view_distributedparameters"],
    "django_celery_beat": [
        "view_periodictask",
        "add_periodictask",
        "change_periodictask",
        "view_intervalschedule",
        "add_intervalschedule",
        "change_intervalschedule",
        "view_crontabschedule",
    ],
}


def ensure_permissions(apps) -> None:
    """Permissions are normally made after all migrations ran; make them now so the group can hold them."""
    for app_label in OPS:
        app_config = apps.get_app_config(app_label)
        previous = getattr(app_config, "models_module", None)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = previous


def grant_ops(apps, schema_editor):
    ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Ops")
    for app_label, codenames in OPS.items():
        permissions = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        missing = set(codenames) - set(permissions.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Missing permissions for Ops: {sorted(missing)}")
        group.permissions.add(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("distribution", "0001_initial"),
        ("channel_db", "0002_offlinetransaction"),
        ("parameters", "0002_permission_groups"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(grant_ops, migrations.RunPython.noop)]
