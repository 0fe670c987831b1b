"""Calls made from several threads at the same moment, for the tests that race writes on PostgreSQL."""

import threading

from django.db import connections


def calls_at_once(count: int, call) -> tuple[list, list]:
    """`call` made from `count` threads released together: the answers, and any error raised."""
    start = threading.Barrier(count)
    answers, errors = [], []

    def run():
        try:
            start.wait()
            answers.append(call())
        except Exception as error:  # reported by the caller
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, errors
