"""Work that runs once the current transaction commits, in a thread of its own, or, for work that comes
in volume (email deliveries), handed to one long-lived thread per process (`SerialWorker`).

No response waits on it, so none tells by its timing what the work found: whether an email address
is known, whether the mail server answered. With OUTBOX_SEND_IN_BACKGROUND off (the tests), the work
runs inline after commit instead, and its errors surface.
"""

import atexit
import logging
import os
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


class SerialWorker:
    """One thread per process that runs `work` on the ids submitted to it, a batch at a time.

    However many emails commit at once, their deliveries then hold one database connection and one
    conversation with the mail server between them, not one of each per email. The thread closes its
    database connection whenever it runs out of work, and the process gives it a bounded time to finish
    at exit.
    """

    # Set by _reset, in the constructor and again in a forked child.
    _condition: threading.Condition
    _waiting: list[int]
    _busy: bool
    _thread: threading.Thread | None

    def __init__(self, work: Callable[[list[int]], object], *, name: str, batch_size: int) -> None:
        self.work = work
        self.name = name
        self.batch_size = batch_size
        self._reset()
        # A forked child (a gunicorn worker) has no copy of the parent's thread, and maybe a held lock.
        os.register_at_fork(after_in_child=self._reset)
        atexit.register(self._finish_at_exit)

    def submit(self, ids: list[int]) -> None:
        with self._condition:
            self._waiting.extend(ids)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, daemon=True, name=self.name)
                self._thread.start()
            self._condition.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far was worked on; False if `timeout` seconds passed first."""
        with self._condition:
            return self._condition.wait_for(lambda: not self._waiting and not self._busy, timeout)

    def _reset(self) -> None:
        self._condition = threading.Condition()
        self._waiting = []
        self._busy = False
        self._thread = None

    def _loop(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._waiting)
                batch, self._waiting = self._waiting[: self.batch_size], self._waiting[self.batch_size :]
                self._busy = True
            broken = False
            try:
                self.work(batch)
            except Exception:  # nothing waits for this thread: the log is where a failure shows
                logger.exception("Background work failed: %s", self.name)
                broken = True  # maybe the database connection: the next batch opens a fresh one
            with self._condition:
                idle = not self._waiting
            if idle or broken:
                db.connections.close_all()
            with self._condition:
                self._busy = False
                self._condition.notify_all()

    def _finish_at_exit(self) -> None:
        # Daemon threads die with the process; a delivery cut off mid-conversation is sent again later.
        if self._thread is not None and self._thread.is_alive():
            self.wait_idle(timeout=settings.OUTBOX_SEND_TIME_BUDGET)
