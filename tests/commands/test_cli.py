"""The operations CLI of API.md, driven as ops would."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from commerce_hq.channels.models import Channel, Device, Register
from commerce_hq.channels.services import device_activate
from commerce_hq.parameters.services import parameters_get
from commerce_hq.stored_value.models import CreditMemo, GiftCard

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_seed_demo_is_idempotent_and_prints_the_login():
    first = run("seed_demo", "--admin-password", "demo-pass-123")
    second = run("seed_demo")
    assert "password 'demo-pass-123'" in first and "password unchanged" in second
    channel = Channel.objects.get(code="STORE1")
    assert (channel.currency, str(channel.cash_out_threshold.normalize())) == ("USD", "5")
    assert list(Register.objects.values_list("code", flat=True)) == ["REG1", "REG2", "REG3", "REG4"]
    assert GiftCard.objects.count() == 3 and CreditMemo.objects.count() == 2
    assert run("reconcile").rstrip().endswith("no mismatches.")


def test_activation_code_is_the_last_line_and_activates_a_device():
    run("seed_demo")
    code = run("create_activation_code", "--register", "REG2", "--channel", "STORE1").strip().splitlines()[-1]
    device, _ = device_activate(activation_code=code)
    assert device.register.code == "REG2"


def test_unknown_register_is_a_clear_error():
    run("seed_demo")
    with pytest.raises(CommandError, match="No register REG9"):
        run("create_activation_code", "--register", "REG9")


def test_set_parameter_changes_and_refuses():
    run("seed_demo")
    out = run("set_parameter", "credit_memo.allow_offline_conclusion", "true", "--legal-entity", "DEMO")
    assert "version 2" in out
    with pytest.raises(CommandError, match="Unknown parameter"):
        run("set_parameter", "credit_memo.nope", "true")
    with pytest.raises(CommandError, match="Bad value"):
        run("set_parameter", "gift_card.offline_limit", "-3")
    assert parameters_get(legal_entity=Channel.objects.get().legal_entity).version == 2


def test_deactivate_device_and_block_card():
    run("seed_demo")
    code = run("create_activation_code", "--register", "REG1").strip().splitlines()[-1]
    device_activate(activation_code=code)
    assert "Deactivated 1 device" in run("deactivate_device", "--register", "REG1")
    assert Device.objects.get().deactivated_at is not None
    assert "is blocked" in run("block_card", "6012000000000001")
    assert "is active" in run("block_card", "6012000000000001", "--unblock")
    with pytest.raises(CommandError):
        run("block_card", "NOPE-0000-0000")


def test_reconcile_exits_non_zero_on_a_mismatch():
    run("seed_demo")
    GiftCard.objects.filter(number="6012000000000001").update(balance=1)
    with pytest.raises(CommandError, match="1 mismatch"):
        run("reconcile")


def test_adjust_balance_books_an_adjustment_entry_and_refuses_bad_input():
    run("seed_demo")
    out = run("adjust_balance", "6012000000000001", "-2.50", "--reason", "till count")
    assert "balance 97.50" in out
    entry = GiftCard.objects.get(number="6012000000000001").entries.last()
    assert (entry.operation, entry.note) == ("adjustment", "till count")
    with pytest.raises(CommandError, match="not an amount"):
        run("adjust_balance", "6012000000000001", "abc", "--reason", "x")
    with pytest.raises(CommandError, match="below zero"):
        run("adjust_balance", "6012000000000001", "-1000", "--reason", "x")
    assert run("reconcile").rstrip().endswith("no mismatches.")
