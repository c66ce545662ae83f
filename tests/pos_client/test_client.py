"""The SDK against the contract: activation, health, parameters with ETag, idempotency keys, errors."""

import pytest

from pos_client import ApiError, OfflineStore, PosClient, Unreachable
from pos_client.errors import CODE_MESSAGES, NotActivated
from tests.pos_client.fake_hq import SERVER


def test_activation_keeps_the_device_token_in_the_local_store(fake_hq, make_register, tmp_path):
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


def test_a_used_activation_code_is_refused_with_its_code(fake_hq, make_register, tmp_path):
    code = fake_hq.code_for("REG1")
    client = make_register("REG1")
    client.activate(code)
    with pytest.raises(ApiError) as refused:
        client.activate(code)
    assert refused.value.code == "invalid_activation_code" and refused.value.status == 400


def test_health_probe_follows_the_network(till):
    assert till.health()["status"] == "ok"
    till.transport.cut()
    till.online = False
    assert till.try_online() is False
    till.transport.restore()
    assert till.try_online() is True and till.online


def test_parameters_are_revalidated_with_their_etag_and_cached_on_disk(fake_hq, till, tmp_path):
    # given
    first = till.parameters()
    # when
    again = till.parameters()
    # then
    sent = fake_hq.calls("GET", "parameters")
    assert again == first and sent[-1][2].get("If-None-Match") == '"v0"'
    fake_hq.set_parameter("gift_card.allow_offline_conclusion", "true")
    fake_hq.distribute()
    assert till.parameters()["gift_card"]["allow_offline_conclusion"] is True
    reopened = PosClient(OfflineStore(till.store.path), till.transport)
    till.transport.cut()
    assert reopened.parameters()["version"] == 1 and reopened.online is False


def test_a_304_without_a_cache_is_never_trusted(fake_hq, till):
    till.store.put("parameters", None)
    assert till.parameters()["version"] == 0
    assert "If-None-Match" not in fake_hq.calls("GET", "parameters")[-1][2]


def test_the_idempotency_key_is_stored_before_the_request_is_sent(fake_hq, till):
    # given
    number = fake_hq.new_card()
    seen = []
    original = fake_hq.send

    def spy(request, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if request.method == "POST":
            seen.append(any(row["idempotency_key"] == key for row in till.store.pending_intents()))
        return original(request, **kwargs)

    fake_hq.send = spy
    # when
    till.start_sale().add_gift_card(number)
    # then
    assert seen == [True]


def test_a_lost_response_is_retried_with_the_same_key_and_replayed(fake_hq, till):
    # given
    number = fake_hq.new_card()
    sale = till.start_sale()
    till.transport.lose_next("response")
    with pytest.raises(Unreachable):
        sale.add_gift_card(number, "10.00")
    assert fake_hq.items[number]["lock"] is not None and till.online is False
    # when
    line = sale.add_gift_card(number, "10.00")
    # then
    locks = fake_hq.calls("POST", f"{number}/lock")
    assert len(locks) == 2 and locks[0][2]["Idempotency-Key"] == locks[1][2]["Idempotency-Key"]
    assert line.state == "locked" and line.shown_balance == "100.00"


def test_every_post_carries_an_idempotency_key(fake_hq, till):
    number = fake_hq.new_card()
    sale = till.start_sale()
    sale.add_gift_card(number, "5.00")
    sale.conclude()
    till.issue_credit_memo(amount="5.00")
    posts = [c for c in fake_hq.requests if c[0] == "POST"]
    assert len(posts) == 4 and all(1 <= len(c[2].get("Idempotency-Key", "")) <= 128 for c in posts)


@pytest.mark.parametrize("code", sorted(CODE_MESSAGES))
def test_every_problem_code_becomes_an_api_error_carrying_it(code):
    lock = {"channel": "STORE1", "register": "REG2", "locked_at": "2026-11-23T10:00:00Z"}
    error = ApiError.from_reply(409, {"code": code, "status": 409, "detail": "why", "lock": lock})
    assert (error.code, error.status, error.detail, error.lock) == (code, 409, "why", lock)
    assert "register REG2" in str(error) and error.hint == CODE_MESSAGES[code]


def test_card_locked_names_who_holds_it(fake_hq, make_register):
    number = fake_hq.new_card()
    make_register("REG1").start_sale().add_gift_card(number)
    with pytest.raises(ApiError) as refused:
        make_register("REG2").start_sale().add_gift_card(number)
    assert refused.value.code == "card_locked" and refused.value.lock["register"] == "REG1"


def test_a_server_error_on_a_lookup_is_an_error_not_a_crash(fake_hq, till):
    fake_hq.answer_next.append(500)
    with pytest.raises(ApiError) as failed:
        till.gift_card(fake_hq.new_card())
    assert failed.value.code == "server_error" and failed.value.status == 500


def test_a_server_error_on_a_money_call_counts_as_unreachable(fake_hq, till):
    number = fake_hq.new_card()
    sale = till.start_sale()
    fake_hq.answer_next.append(503)
    with pytest.raises(Unreachable):
        sale.add_gift_card(number)
    assert till.online is False and till.store.pending_intents()


def test_validation_errors_carry_their_fields():
    error = ApiError.from_reply(400, {"code": "invalid_upload", "errors": [{"index": 3, "field": "x", "detail": "y"}]})
    assert error.errors[0]["index"] == 3 and "#3 x: y" in str(error)
