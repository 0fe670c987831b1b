"""Work that runs once the current transaction commits, in a thread of its own.

No response waits on it, so none tells by its timing what the work found: whether an email address
is known, whether the mail server answered. With OUTBOX_SEND_IN_BACKGROUND off (the tests), the work
runs inline after commit instead, and its errors surface.
"""

import logging
import threading
from collections.abc import Callable

from django import db
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


def after_commit_in_background(work: Callable[[], object], *, description: str) -> None:
    transaction.on_commit(lambda: _start(work, description))


def _start(work: Callable[[], object], description: str) -> None:
    if not settings.OUTBOX_SEND_IN_BACKGROUND:
        work()
        return
    threading.Thread(target=_run, args=(work, description), daemon=True, name=description).start()


def _run(work: Callable[[], object], description: str) -> None:
    try:
        work()
    except Exception:  # nothing waits for this thread: the log is where a failure shows
        logger.exception("Background work failed: %s", description)
    finally:
        db.connections.close_all()
