"""The Celery app: Redis broker from REDIS_URL; tasks run eagerly when it is unset."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce_hq.settings")

app = Celery("commerce_hq")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
