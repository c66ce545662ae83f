"""The register CLI, the demo story and the simulator, against the fake HQ."""

import subprocess
import sys
from decimal import Decimal

import pytest

from pos_client import cli, transport
from pos_client.demo import Demo
from pos_client.simulate import Settings, simulate
from tests.pos_client.conftest import fake_session
from tests.pos_client.fake_hq import SERVER


@pytest.fixture
def fake_network(fake_hq, monkeypatch):
    """Every ``requests`` session the client opens talks to the fake HQ."""
    monkeypatch.setattr(transport.requests, "Session", lambda: fake_session(fake_hq))


@pytest.fixture
def run(fake_network, tmp_path, capsys):
    store = str(tmp_path / "register.sqlite3")

    def run_cli(*args: str) -> tuple[int, str, str]:
        code = cli.main(["--store", store, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run_cli


def test_activate_balance_sale_upload_and_status(fake_hq, run):
    number = fake_hq.new_card("80.00")
    assert run("activate", fake_hq.code_for("REG2"), "--server", SERVER)[1].startswith("activated: register REG2")
    code, out, _ = run("balance", number)
    assert code == 0 and out.startswith(f"…{number[-4:]}: 80.00 USD, active")
    code, out, _ = run("sale", "--gift-card", number, "--amount", "12.5")
    assert code == 0 and f"…{number[-4:]}: online 12.50" in out
    assert fake_hq.items[number]["balance"] == Decimal("67.50") and fake_hq.items[number]["lock"] is None
    code, out, _ = run("upload")
    assert code == 0 and "uploaded: 0 accepted" in out
    code, out, _ = run("status")
    assert code == 0 and "HQ: online; parameters version 0" in out and "0 waiting for upload" in out


def test_a_refusal_is_printed_with_its_code_and_the_lines_are_released(fake_hq, run, make_register):
    number, locked_elsewhere = fake_hq.new_card(), fake_hq.new_card()
    make_register("REG9").start_sale().add_gift_card(locked_elsewhere)
    run("activate", fake_hq.code_for("REG1"), "--server", SERVER)
    code, _, err = run("sale", "--gift-card", number, "--credit-memo", "CM-00000000")
    assert code == 1 and "memo_not_found (404)" in err
    assert fake_hq.items[number]["lock"] is None
    code, _, err = run("sale", "--gift-card", locked_elsewhere)
    assert code == 1 and "card_locked (409)" in err and "register REG9" in err
    code, _, err = run("balance", "6012999999999999")
    assert code == 1 and "card_not_found" in err and "No gift card with that number." in err


def test_commands_before_activation_say_so(run):
    code, _, err = run("status")
    assert code == 1 and "not activated" in err


def test_demo_story_exits_true_only_when_every_step_held(fake_hq, fake_network, tmp_path):
    lines: list[str] = []
    demo = Demo(server=SERVER, codes=[], hq=fake_hq, wait=2, run_job=True, directory=tmp_path, out=lines.append)
    assert demo.run() is True, "\n".join(lines)
    assert "ALL STEPS AS EXPECTED" in lines[-1] and not any("[FAIL]" in x for x in lines)
    assert fake_hq.params["gift_card"]["allow_offline_conclusion"] is False


def test_demo_reports_a_failed_step(fake_hq, fake_network, tmp_path):
    lines: list[str] = []
    fake_hq.run_job = lambda code: None  # job 1110 and P-0001 never run
    demo = Demo(server=SERVER, codes=[], hq=fake_hq, wait=0.2, run_job=True, directory=tmp_path, out=lines.append)
    assert demo.run() is False and any("[FAIL]" in x for x in lines)


def simulator_settings(fake_hq, tmp_path, **chosen) -> Settings:
    return Settings(server=SERVER, codes=[], hq=fake_hq, run_job=True, directory=str(tmp_path), **chosen)


def test_simulator_balances_agree_with_the_registers_logs(fake_hq, fake_network, offline_allowed, tmp_path):
    lines: list[str] = []
    settings = simulator_settings(fake_hq, tmp_path, registers=3, seconds=1.5, drop_rate=0.3, wait=5, seed=7)
    assert simulate(settings, out=lines.append) == 0, "\n".join(lines)
    assert lines[-1].startswith("OK: every balance matches") and sum("  ok" in x for x in lines) == 6


def test_simulator_catches_a_card_debited_behind_its_back(fake_hq, fake_network, offline_allowed, tmp_path):
    lines: list[str] = []
    original = fake_hq.apply_uploads

    def apply_and_skim():
        original()
        next(iter(fake_hq.items.values()))["balance"] -= Decimal("1.00")

    fake_hq.apply_uploads = apply_and_skim
    settings = simulator_settings(fake_hq, tmp_path, registers=1, seconds=0.3, drop_rate=0, wait=2)
    assert simulate(settings, out=lines.append) == 1 and "MISMATCH" in lines[-1]
    assert lines[-1].endswith("(1 mismatch(es), 0 not applied)")


def test_the_package_needs_neither_django_nor_the_server_code():
    code = (
        "import sys, pos_client.cli; sys.exit(any(m.split('.')[0] in ('django', 'commerce_hq') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
