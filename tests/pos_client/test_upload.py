"""Uploading the offline queue: batches, acknowledgements, replays, duplicates and conflicts."""

from decimal import Decimal

import pytest

from pos_client import ApiError, Unreachable
from pos_client.store import QUEUED, UPLOADED
from pos_client.sync import BATCH_SIZE


def queue(till, count: int, prefix: str = "T") -> list[str]:
    ids = [f"{prefix}-{i:05d}" for i in range(count)]
    for transaction_id in ids:
        till.store.offline_queue(
            {
                "transaction_id": transaction_id,
                "concluded_at": "2026-11-23T10:05:00.000000Z",
                "operations": [{"type": "gift_card.unlock", "number": "6012000000000001"}],
            }
        )
    return ids


def test_the_queue_goes_up_in_batches_of_at_most_1000(fake_hq, till):
    queue(till, 2 * BATCH_SIZE + 1)
    report = till.sync()
    assert fake_hq.upload_batches == [1000, 1000, 1] and len(report.accepted) == 2001
    assert till.store.offline_transactions(QUEUED) == []


def test_nothing_leaves_the_queue_before_the_202(fake_hq, till):
    queue(till, 3)
    fake_hq.answer_next.append(502)
    with pytest.raises(Unreachable, match="treated as unreachable"):
        till.sync()
    assert len(till.store.offline_transactions(QUEUED)) == 3 and fake_hq.upload_batches == []


def test_a_lost_202_is_replayed_with_the_same_key(fake_hq, till):
    ids = queue(till, 2)
    till.transport.lose_next("response")
    with pytest.raises(Unreachable, match="response lost"):
        till.sync()
    assert len(till.store.offline_transactions(QUEUED)) == 2
    report = till.sync()
    uploads = fake_hq.calls("POST", "offline-transactions")
    assert uploads[0][2]["Idempotency-Key"] == uploads[1][2]["Idempotency-Key"] and fake_hq.upload_batches == [2]
    assert report.accepted == ids


def test_duplicates_and_conflicts_are_shown(fake_hq, till, make_register):
    queue(till, 1, prefix="SAME")
    queue(till, 1, prefix="CHANGED")
    seen = {
        "transaction_id": "SAME-00000",
        "concluded_at": "2026-11-23T10:05:00.000000Z",
        "operations": [{"type": "gift_card.unlock", "number": "6012000000000001"}],
    }
    fake_hq.uploads[("REG1", "SAME-00000")] = {"body": seen, "status": "applied", "exceptions": []}
    fake_hq.uploads[("REG1", "CHANGED-00000")] = {
        "body": {**seen, "staff_id": "7"},
        "status": "applied",
        "exceptions": [],
    }
    report = till.sync()
    assert report.duplicates == ["SAME-00000"] and report.conflicts == ["CHANGED-00000"]
    assert any(line.startswith("CONFLICT") for line in report.lines())
    outcomes = {row["transaction_id"]: row["outcome"] for row in till.store.offline_transactions(UPLOADED)}
    assert outcomes == {"SAME-00000": "duplicate", "CHANGED-00000": "conflict"}


def test_an_invalid_upload_is_reported_and_kept(fake_hq, till):
    till.store.offline_queue({"transaction_id": "EMPTY", "concluded_at": "2026-11-23T10:05:00Z", "operations": []})
    with pytest.raises(ApiError) as refused:
        till.sync()
    assert refused.value.code == "invalid_upload" and refused.value.errors[0]["index"] == 0
    assert [row["transaction_id"] for row in till.store.offline_transactions(QUEUED)] == ["EMPTY"]


def test_exceptions_from_hq_are_kept_for_the_register(fake_hq, till, offline_allowed):
    number = fake_hq.new_card("10.00")
    sale = till.start_sale()
    sale.add_gift_card(number, "10.00")
    till.transport.cut()
    sale.conclude()
    fake_hq.items[number]["balance"] = Decimal("4.00")  # spent elsewhere after an admin released it
    till.transport.restore()
    till.sync()
    fake_hq.apply_uploads()
    assert till.poll(timeout=1, interval=0.01) == {sale.transaction_id: "exception"}
    row = till.store.offline_transactions(UPLOADED)[0]
    assert [e["code"] for e in row["exceptions"]] == ["offline_overspend"]


def test_an_amount_finer_than_the_currency_releases_the_card(fake_hq, till):
    number = fake_hq.new_card()
    sale = till.start_sale()
    with pytest.raises(ValueError, match="more decimals"):
        sale.add_gift_card(number, "1.005")
    assert fake_hq.items[number]["lock"] is None and sale.lines[0].state == "voided"


def test_a_failing_parameters_endpoint_falls_back_to_the_cache(fake_hq, till, offline_allowed):
    assert till.parameters()["version"] == 1
    fake_hq.answer_next.append(500)
    assert till.parameters()["gift_card"]["allow_offline_conclusion"] is True
