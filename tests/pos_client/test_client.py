"""The SDK against the contract: activation, health, parameters with ETag, idempotency keys, errors."""

import pytest

from pos_client import ApiError, OfflineStore, PosClient, Unreachable
from pos_client.errors import CODE_MESSAGES, NotActivated
from tests.pos_client.fake_hq import SERVER


def test_activation_keeps_the_device_token_in_the_local_store(hq, make_register, tmp_path):
    # given / when
    client = make_register("REG3", store_name="till.sqlite3")
    # then
    reopened = PosClient(OfflineStore(tmp_path / "till.sqlite3"))
    assert reopened.token == client.token and reopened.token.startswith("token-")
    assert reopened.device["register"] == "REG3" and reopened.store.get("server") == SERVER


def test_an_unused_store_is_not_activated(tmp_path):
    client = PosClient(OfflineStore(tmp_path / "new.sqlite3"))
    with pytest.raises(NotActivated):
        client.token  # noqa: B018


def test_a_used_activation_code_is_refused_with_its_code(hq, make_register, tmp_path):
    code = hq.code_for("REG1")
    client = make_register("REG1")
    client.activate(code)
    with pytest.raises(ApiError) as refused:
        client.activate(code)
    assert refused.value.code == "invalid_activation_code" and refused.value.status == 400


def test_health_probe_follows_the_network(register):
    assert register.health()["status"] == "ok"
    register.transport.cut()
    register.online = False
    assert register.try_online() is False
    register.transport.restore()
    assert register.try_online() is True and register.online


def test_parameters_are_revalidated_with_their_etag_and_cached_on_disk(hq, register, tmp_path):
    # given
    first = register.parameters()
    # when
    again = register.parameters()
    # then
    sent = hq.calls("GET", "parameters")
    assert again == first and sent[-1][2].get("If-None-Match") == '"v0"'
    hq.set_parameter("gift_card.allow_offline_conclusion", "true")
    hq.distribute()
    assert register.parameters()["gift_card"]["allow_offline_conclusion"] is True
    reopened = PosClient(OfflineStore(register.store.path), register.transport)
    register.transport.cut()
    assert reopened.parameters()["version"] == 1 and reopened.online is False


def test_a_304_without_a_cache_is_never_trusted(hq, register):
    register.store.put("parameters", None)
    assert register.parameters()["version"] == 0
    assert "If-None-Match" not in hq.calls("GET", "parameters")[-1][2]


def test_the_idempotency_key_is_stored_before_the_request_is_sent(hq, register):
    # given
    number = hq.new_card()
    seen = []
    original = hq.send

    def spy(request, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST":
            seen.append(any(row["idempotency_key"] == key for row in register.store.pending_intents()))
        return original(request, **kwargs)

    hq.send = spy
    # when
    register.start_sale().add_gift_card(number)
    # then
    assert seen == [True]


def test_a_lost_response_is_retried_with_the_same_key_and_replayed(hq, register):
    # given
    number = hq.new_card()
    sale = register.start_sale()
    register.transport.lose_next("response")
    with pytest.raises(Unreachable):
        sale.add_gift_card(number, "10.00")
    assert hq.items[number]["lock"] is not None and register.online is False
    # when
    line = sale.add_gift_card(number, "10.00")
    # then
    locks = hq.calls("POST", f"{number}/lock")
    assert len(locks) == 2 and locks[0][2]["Idempotency-Key"] == locks[1][2]["Idempotency-Key"]
    assert line.state == "locked" and line.shown_balance == "100.00"


def test_every_post_carries_an_idempotency_key(hq, register):
    number = hq.new_card()
    sale = register.start_sale()
    sale.add_gift_card(number, "5.00")
    sale.conclude()
    register.issue_credit_memo(amount="5.00")
    posts = [c for c in hq.requests if c[0] == "POST"]
    assert len(posts) == 4 and all(1 <= len(c[2].get("Idempotency-Key", "")) <= 128 for c in posts)


@pytest.mark.parametrize("code", sorted(CODE_MESSAGES))
def test_every_problem_code_becomes_an_api_error_carrying_it(code):
    lock = {"channel": "STORE1", "register": "REG2", "locked_at": "2026-11-23T10:00:00Z"}
    error = ApiError.from_reply(409, {"code": code, "status": 409, "detail": "why", "lock": lock})
    assert (error.code, error.status, error.detail, error.lock) == (code, 409, "why", lock)
    assert "register REG2" in str(error) and error.hint == CODE_MESSAGES[code]


def test_card_locked_names_who_holds_it(hq, make_register):
    number = hq.new_card()
    make_register("REG1").start_sale().add_gift_card(number)
    with pytest.raises(ApiError) as refused:
        make_register("REG2").start_sale().add_gift_card(number)
    assert refused.value.code == "card_locked" and refused.value.lock["register"] == "REG1"


def test_a_server_error_on_a_lookup_is_an_error_not_a_crash(hq, register):
    hq.answer_next.append(500)
    with pytest.raises(ApiError) as failed:
        register.gift_card(hq.new_card())
    assert failed.value.code == "server_error" and failed.value.status == 500


def test_a_server_error_on_a_money_call_counts_as_unreachable(hq, register):
    number = hq.new_card()
    sale = register.start_sale()
    hq.answer_next.append(503)
    with pytest.raises(Unreachable):
        sale.add_gift_card(number)
    assert register.online is False and register.store.pending_intents()


def test_validation_errors_carry_their_fields():
    error = ApiError.from_reply(400, {"code": "invalid_upload", "errors": [{"index": 3, "field": "x", "detail": "y"}]})
    assert error.errors[0]["index"] == 3 and "#3 x: y" in str(error)
