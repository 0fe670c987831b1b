"""gunicorn's gthread worker, except that a client stalling in the middle of its request is cut off."""

import errno
import os
import socket
import struct

from gunicorn.workers.gthread import ThreadWorker

# gthread waits for a request's first bytes without holding a thread, but reads the rest in one, with no deadline:
# a client that sends half its headers or half a form and stops would hold that thread until it hung up.
CLIENT_TIMEOUT_SECONDS = float(os.environ.get("GUNICORN_CLIENT_TIMEOUT", 15))


def _timeval(seconds: float) -> bytes:
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))


class _DeadlineSocket(socket.socket):
    """A client's socket on which each blocking read or write waits at most CLIENT_TIMEOUT_SECONDS.

    The deadline is the kernel's (SO_RCVTIMEO, SO_SNDTIMEO), not Python's socket timeout: with a timeout, Python
    puts the socket in non-blocking mode and polls before every read and write, one more system call and one more
    release of the interpreter each. Measured under wrk, slow runs (where seen, the load's kept-alive connections
    piled on one worker) came in half the runs with Python's timeout, in one in eight with gunicorn's own worker,
    in one in five with this one.
    """

    def arm(self) -> None:
        deadline = _timeval(CLIENT_TIMEOUT_SECONDS)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, deadline)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, deadline)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        try:
            return super().recv(bufsize, flags)
        except BlockingIOError as stalled:
            if self.gettimeout() == 0:  # gthread's own non-blocking read, while it waits for a request
                raise
            # The kernel's deadline passed. As if the client had gone: gunicorn closes the connection without a
            # traceback in its log, and Django's read of a half-sent body fails (UnreadablePostError) instead of
            # using part of it.
            raise ConnectionResetError(errno.ECONNRESET, "client stalled mid-request") from stalled


class DeadlineThreadWorker(ThreadWorker):
    def handle(self, conn):
        # Plain sockets only: TLS is the reverse proxy's work, and an SSL socket cannot be re-wrapped like this.
        if type(conn.sock) is socket.socket:
            original = conn.sock
            blocking = original.getblocking()
            conn.sock = _DeadlineSocket(original.family, original.type, original.proto, fileno=original.detach())
            conn.sock.setblocking(blocking)
            conn.sock.arm()
        return super().handle(conn)
