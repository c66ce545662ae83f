import pytest

from commerce_hq.celery import app as celery_app


@pytest.fixture
def eager_celery(monkeypatch):
    """Run queued tasks in this process, as without REDIS_URL, whatever the environment says."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
