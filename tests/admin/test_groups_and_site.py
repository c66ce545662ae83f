import importlib

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from commerce_hq.admin_site import SITE_TITLE
from tests.admin.conftest import action_post, staff_client

EXPECTED = {
    "Parameter managers": {"parameters.change_offline_parameters", "parameters.change_commerceparameters"},
    "Stored-value operators": {
        "stored_value.view_giftcard",
        "stored_value.view_creditmemo",
        "stored_value.view_ledgerentry",
        "stored_value.release_lock_giftcard",
        "stored_value.release_lock_creditmemo",
        "stored_value.block_giftcard",
        "stored_value.void_creditmemo",
    },
    "Ops": {"channels.view_channel", "channels.view_register", "channels.change_register", "channels.change_device"},
}


def permissions_of(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_groups_hold_their_permissions(db, name):
    assert EXPECTED[name] <= permissions_of(Group.objects.get(name=name))


def test_operators_cannot_change_parameters_nor_ops_release_locks(db):
    operators = permissions_of(Group.objects.get(name="Stored-value operators"))
    ops = permissions_of(Group.objects.get(name="Ops"))
    assert not any(p.startswith("parameters.") for p in operators)
    assert not any(p.startswith("stored_value.") for p in ops)


def test_running_the_migration_again_changes_nothing(db):
    # given
    migration = importlib.import_module("commerce_hq.parameters.migrations.0002_permission_groups")
    state = MigrationExecutor(connection).loader.project_state(("parameters", "0002_permission_groups"))
    before = {group.name: permissions_of(group) for group in Group.objects.all()}
    # when
    migration.create_groups(state.apps, None)
    # then
    assert {group.name: permissions_of(group) for group in Group.objects.all()} == before


def test_operator_has_release_action_but_viewer_does_not(operator, viewer, locked_card):
    url = reverse("admin:stored_value_giftcard_changelist")
    assert 'value="release_lock"' in operator[0].get(url).content.decode()
    assert 'value="release_lock"' not in viewer[0].get(url).content.decode()


def test_forged_posts_from_a_viewer_change_nothing(viewer, locked_card, memo):
    # given
    client, _ = viewer
    cards = reverse("admin:stored_value_giftcard_changelist")
    memos = reverse("admin:stored_value_creditmemo_changelist")
    stamp = f"{locked_card.lock_register_id}:T-LOCK"
    # when
    action_post(
        client, cards, "release_lock", locked_card, confirm="yes", reason="x", **{f"lock_{locked_card.pk}": stamp}
    )
    action_post(client, cards, "block", locked_card)
    action_post(client, memos, "void", memo, confirm="yes", reason="x")
    direct = client.post(
        reverse("admin:stored_value_giftcard_release_lock", args=[locked_card.pk]),
        {"reason": "x", f"lock_{locked_card.pk}": stamp},
    )
    direct_void = client.post(reverse("admin:stored_value_creditmemo_void", args=[memo.pk]), {"reason": "x"})
    # then
    assert (direct.status_code, direct_void.status_code) == (403, 403)
    locked_card.refresh_from_db()
    memo.refresh_from_db()
    assert locked_card.is_locked and locked_card.status == "active" and memo.status == "open"


def test_operator_can_release_and_block(operator, locked_card):
    client, _ = operator
    url = reverse("admin:stored_value_giftcard_changelist")
    stamp = f"{locked_card.lock_register_id}:T-LOCK"
    client.post(
        url,
        {
            "action": "release_lock",
            "_selected_action": [locked_card.pk],
            "confirm": "yes",
            "reason": "stuck",
            f"lock_{locked_card.pk}": stamp,
        },
    )
    action_post(client, url, "block", locked_card)
    locked_card.refresh_from_db()
    assert not locked_card.is_locked and locked_card.status == "blocked"


def test_site_header_and_back_office_links(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert SITE_TITLE in html and f"| {SITE_TITLE}</title>" in html
    assert 'id="tools-commerce-parameters"' in html and 'id="tools-stuck-locks"' in html


def test_staff_without_permissions_sees_no_back_office_links(db):
    client, _ = staff_client("plain")
    html = client.get(reverse("admin:index")).content.decode()
    assert 'id="back-office-tools"' not in html
