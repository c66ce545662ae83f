"""Fixtures for the POS client's unit tests: a fake HQ mounted as a ``requests`` adapter and
registers whose transport can lose the network."""

import pytest
import requests

from pos_client import FaultyTransport, HttpTransport, OfflineStore, PosClient
from tests.pos_client.fake_hq import SERVER, FakeHQ


@pytest.fixture
def fake_hq():
    return FakeHQ()


SESSION = requests.Session


def fake_session(fake_hq: FakeHQ) -> requests.Session:
    session = SESSION()
    session.mount(SERVER, fake_hq)
    return session


@pytest.fixture
def make_register(fake_hq, tmp_path):
    """``make_register("REG1")`` → an activated client whose ``transport`` is a FaultyTransport."""

    def make(register_code: str = "REG1", *, store_name: str | None = None) -> PosClient:
        transport = FaultyTransport(HttpTransport(SERVER, session=fake_session(fake_hq)))
        client = PosClient(OfflineStore(tmp_path / (store_name or f"{register_code}.sqlite3")), transport)
        client.activate(fake_hq.code_for(register_code), server=SERVER)
        return client

    return make


@pytest.fixture
def till(make_register):
    return make_register("REG1")


@pytest.fixture
def offline_allowed(fake_hq):
    fake_hq.set_parameter("gift_card.allow_offline_conclusion", "true")
    fake_hq.set_parameter("credit_memo.allow_offline_conclusion", "true")
    fake_hq.distribute()
