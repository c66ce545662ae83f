"""Fixtures for the POS client's unit tests: a fake HQ mounted as a ``requests`` adapter and
registers whose transport can lose the network."""

import pytest
import requests

from pos_client import FaultyTransport, HttpTransport, OfflineStore, PosClient
from tests.pos_client.fake_hq import SERVER, FakeHQ


@pytest.fixture
def hq():
    return FakeHQ()


def fake_session(hq: FakeHQ) -> requests.Session:
    session = requests.Session()
    session.mount(SERVER, hq)
    return session


@pytest.fixture
def make_register(hq, tmp_path):
    """``make_register("REG1")`` → an activated client whose ``transport`` is a FaultyTransport."""

    def make(register: str = "REG1", *, store_name: str | None = None) -> PosClient:
        transport = FaultyTransport(HttpTransport(SERVER, session=fake_session(hq)))
        client = PosClient(OfflineStore(tmp_path / (store_name or f"{register}.sqlite3")), transport)
        client.activate(hq.code_for(register), server=SERVER)
        return client

    return make


@pytest.fixture
def register(make_register):
    return make_register("REG1")


@pytest.fixture
def offline_allowed(hq):
    hq.set_parameter("gift_card.allow_offline_conclusion", "true")
    hq.set_parameter("credit_memo.allow_offline_conclusion", "true")
    hq.distribute()
