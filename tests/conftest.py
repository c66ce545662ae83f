"""Shared fixtures. Tests marked ``postgres`` / ``redis`` need the real services: they are
skipped without them, and fail instead when REQUIRE_SERVICES=1 (as CI runs)."""

import contextlib
import os

import pytest
from django.conf import settings
from django.db import connection

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _missing(what: str) -> None:
    message = f"needs {what}: set DATABASE_URL/REDIS_URL (see README)"
    if REQUIRE_SERVICES:
        pytest.fail(message + " — REQUIRE_SERVICES=1 turns this skip into a failure")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _require_services(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("PostgreSQL")
    if request.node.get_closest_marker("redis") and not settings.REDIS_URL:
        _missing("Redis")


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache (channel parameters, throttles)."""
    from django.core.cache import cache

    # A test without database access cannot clear a database cache; it has nothing cached either.
    with contextlib.suppress(Exception):
        cache.clear()
    yield


@pytest.fixture
def channel(db):
    from tests.factories import ChannelFactory

    return ChannelFactory()


@pytest.fixture
def register(channel):
    from tests.factories import RegisterFactory

    return RegisterFactory(channel=channel, code="REG1")


@pytest.fixture
def other_register(channel):
    from tests.factories import RegisterFactory

    return RegisterFactory(channel=channel, code="REG2")
