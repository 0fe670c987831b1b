"""Django's PostgreSQL backend, except how a kept connection is checked before a request uses it.

Django's check (CONN_HEALTH_CHECKS) sends `SELECT 1` before each request's first query: a round trip on every
page, 1-2 ms of machine time. Between requests a connection is idle and the server has nothing to tell it, except
that it is ending it (a restart, an idle timeout, pg_terminate_backend), which it says on the socket before it
closes it. So the check looks at the socket instead: something to read means a new connection, which is the safe
answer even in the rare case that it was harmless (a notice).
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

USABLE = (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS)


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        if self.connection is None:
            return False
        pgconn = self.connection.pgconn
        try:
            # As `SELECT 1` would fail there, a transaction that failed is not usable either (Django asks this too).
            if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status not in USABLE:
                return False
            readable, _, _ = select.select([pgconn.socket], [], [], 0)
        except (OSError, ValueError, psycopg.Error):
            return False
        return not readable
