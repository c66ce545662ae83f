"""Admin test helpers: clients logged in as members of the back-office groups, and a locked card."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from commerce_hq.stored_value import services
from tests.factories import issue_card, issue_memo


def staff_client(username: str, *, groups=(), permissions=()) -> tuple[Client, User]:
    user = User.objects.create_user(username=username, password="pw-" + username, is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    for dotted in permissions:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def operator(db):
    """A member of "Stored-value operators"."""
    return staff_client("operator", groups=["Stored-value operators"])


@pytest.fixture
def viewer(db):
    """May look at cards, memos and parameters but change nothing."""
    return staff_client(
        "viewer",
        permissions=[
            "stored_value.view_giftcard",
            "stored_value.view_creditmemo",
            "parameters.view_commerceparameters",
            "channels.view_register",
            "channels.view_device",
        ],
    )


@pytest.fixture
def card(register):
    return issue_card(register, "100.00", number="6012000011112222")


@pytest.fixture
def locked_card(card, register):
    return services.gift_card_lock(number=card.number, register=register, transaction_id="T-LOCK")


@pytest.fixture
def memo(register):
    return issue_memo(register, "50.00")


def action_post(client, url: str, action: str, *objects, **extra):
    """What the changelist posts when an action is picked for the ticked rows."""
    data = {"action": action, "index": 0, "_selected_action": [obj.pk for obj in objects], **extra}
    return client.post(url, data)


def confirm_post(client, url: str, action: str, *objects, reason: str = "", stamps: dict | None = None):
    """What the reason form posts back: the action, the rows, the reason and the lock each row had."""
    data = {"action": action, "_selected_action": [obj.pk for obj in objects], "confirm": "yes", "reason": reason}
    for obj in objects:
        data[f"lock_{obj.pk}"] = (stamps or {}).get(obj.pk, f"{obj.lock_register_id or ''}:{obj.lock_transaction_id}")
    return client.post(url, data)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []
