import logging
import threading

import pytest

from outbox.background import after_commit_in_background


@pytest.mark.django_db(transaction=True)
def test_work_runs_after_commit_in_another_thread_and_failures_are_logged(settings, caplog):
    settings.OUTBOX_SEND_IN_BACKGROUND = True
    ran_in, done = [], threading.Event()

    def work():
        ran_in.append(threading.get_ident())
        done.set()
        raise RuntimeError("the mail server is on fire")

    with caplog.at_level(logging.ERROR, logger="outbox.background"):
        after_commit_in_background(work, description="test work")  # autocommit: "after commit" is now
        assert done.wait(5)
        for thread in threading.enumerate():
            if thread.name == "test work":
                thread.join(5)
    assert ran_in and ran_in[0] != threading.get_ident()
    assert "Background work failed: test work" in caplog.text


def test_inline_when_background_is_off(settings, django_capture_on_commit_callbacks, db):
    settings.OUTBOX_SEND_IN_BACKGROUND = False
    ran_in = []
    with django_capture_on_commit_callbacks(execute=True):
        after_commit_in_background(lambda: ran_in.append(threading.get_ident()), description="inline work")
        assert ran_in == []  # not before the commit
    assert ran_in == [threading.get_ident()]
