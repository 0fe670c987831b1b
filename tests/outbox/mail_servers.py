"""Mail servers on loopback that misbehave: one that never answers, one with a handler of the test's choosing."""

import socket
import threading

from aiosmtpd.controller import Controller

from tests.smtp import SmtpServer


class SilentSmtpServer:
    """A mail server on loopback that accepts TCP connections and never says a word (nor hangs up)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.05)
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.accepted.append(client)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5)
        for client in self.accepted:
            client.close()
        self.socket.close()


def smtp_server_with_handler(handler) -> SmtpServer:
    """A started aiosmtpd server that answers with `handler` (a RecordingHandler that is slow, say)."""
    server = SmtpServer()
    server.handler = handler
    server.controller = Controller(handler, hostname="127.0.0.1", port=server.port)
    server.start()
    return server


def smtp_mailers(port: int, *, timeout: float) -> dict:
    """MAILERS sending to 127.0.0.1:`port` over SMTP, giving up after `timeout` seconds."""
    return {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": timeout},
        }
    }
