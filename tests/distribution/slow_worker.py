"""A Celery worker whose P-0001 works in small chunks with a pause inside each chunk's
transaction, so a test can kill it in the middle of a batch. Run as
``python -m tests.distribution.slow_worker <celery worker arguments>``."""

import os
import sys
import time

CHUNK_SIZE = 10
PAUSE_SECONDS = 0.05


def slow_down() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commerce_hq.settings")
    django.setup()
    from commerce_hq.distribution.services import uploads

    real = uploads.offline_conclusions_apply

    def paused(*, conclusions):
        booked = real(conclusions=conclusions)
        time.sleep(PAUSE_SECONDS)
        return booked

    uploads.CHUNK_SIZE = CHUNK_SIZE
    uploads.offline_conclusions_apply = paused


if __name__ == "__main__":
    from celery.__main__ import main

    slow_down()
    sys.argv = ["celery", *sys.argv[1:]]
    main()
