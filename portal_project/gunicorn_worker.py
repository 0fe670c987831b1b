"""gunicorn's gthread worker, except that a client stalling in the middle of its request is cut off."""

import errno
import os
import socket

from gunicorn.workers.gthread import ThreadWorker

# gthread waits for a request's first bytes without holding a thread, but reads the rest in one, with no deadline:
# a client that sends half its headers or half a form and stops would hold that thread until it hung up.
CLIENT_TIMEOUT_SECONDS = float(os.environ.get("GUNICORN_CLIENT_TIMEOUT", 15))


class _DeadlineSocket(socket.socket):
    """A client's socket on which each blocking read or write waits at most CLIENT_TIMEOUT_SECONDS."""

    def setblocking(self, flag: bool) -> None:
        if flag:
            self.settimeout(CLIENT_TIMEOUT_SECONDS)
        else:
            super().setblocking(False)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            return super().recv(bufsize, flags)
        except TimeoutError as stalled:
            # As if the client had gone: gunicorn closes the connection without a traceback in its log, and
            # Django's read of a half-sent body fails (UnreadablePostError) instead of using part of it.
            raise ConnectionResetError(errno.ECONNRESET, "client stalled mid-request") from stalled


class DeadlineThreadWorker(ThreadWorker):
    def handle(self, conn):
        # Plain sockets only: TLS is the reverse proxy's work, and an SSL socket cannot be re-wrapped like this.
        if type(conn.sock) is socket.socket:
            original = conn.sock
            conn.sock = _DeadlineSocket(original.family, original.type, original.proto, fileno=original.detach())
        return super().handle(conn)
