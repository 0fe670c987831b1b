"""A real SMTP server on loopback (aiosmtpd) that can be told to refuse mail."""

import email
import email.policy
import socket
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class RecordingHandler:
    refuse: bool = False
    messages: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 4.3.0 Mail server temporarily unavailable"
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        message.envelope_to = list(envelope.rcpt_tos)  # where the server was told to deliver it
        with self.lock:
            self.messages.append(message)
        return "250 OK"


class SmtpServer:
    def __init__(self):
        self.handler = RecordingHandler()
        self.port = _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self):
        self.controller.start()

    def stop(self):
        self.controller.stop()

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def refuse(self, value: bool = True):
        self.handler.refuse = value

    def messages_to(self, address: str):
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
