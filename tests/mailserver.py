"""A real SMTP server on 127.0.0.1 (aiosmtpd) in three security modes, with a self-signed certificate."""
from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

USER, PASSWORD = "zhb", "s3cret-pw"


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Recorder:
    """Keeps what it receives; can refuse recipients, answer 421 and close, stall, drop the connection
    after storing a message (before replying), or stop taking connections after a message."""

    def __init__(self):
        self.received = []
        self.drop_after_storing: set[str] = set()  # recipient addresses that trigger the drop
        self.refuse: set[str] = set()              # recipients answered 550 at RCPT
        self.closing: set[str] = set()             # recipients whose message gets 421 and a closed link
        self.delay = 0.0                           # seconds before each DATA reply
        self.stop_listening_after: set[str] = set()  # after this message: reply, drop the link, refuse new ones
        self.controller: Controller | None = None
        self.sessions = []  # per message received: (EHLO/HELO name, whether EHLO, whether logged in)
        self.hold_at: int | None = None  # store message number n (from 1), then wait for `release` to reply
        self.arrived, self.release = threading.Event(), threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.closing & set(envelope.rcpt_tos):
            self.closing -= set(envelope.rcpt_tos)
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the reply
            return "421 4.3.2 service shutting down"
        self.received.append(envelope)
        self.sessions.append((session.host_name, bool(session.extended_smtp), bool(session.authenticated)))
        if len(self.received) == self.hold_at:
            self.arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        if self.drop_after_storing & set(envelope.rcpt_tos):
            self.drop_after_storing -= set(envelope.rcpt_tos)
            server.transport.abort()  # the message is stored; the client never hears back
            return "250 never delivered to the client"
        if self.stop_listening_after & set(envelope.rcpt_tos):
            self.controller.server.close()  # new connections are refused from now on
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 OK"


class HeloOnly(SMTP):
    """A server that answers EHLO with 502, as old relays do: the client must fall back to HELO."""

    async def smtp_EHLO(self, hostname):
        await self.push("502 5.5.1 EHLO not implemented")


class HeloOnlyController(Controller):
    def factory(self):
        return HeloOnly(self.handler, **self.SMTP_kwargs)


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = getattr(auth_data, "login", None) == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server sends the 535 itself


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(mode: str, cert: Path, key: Path, helo_only: bool = False) -> tuple[Controller, Recorder]:
    """A server that, like aiosmtpd by default and many office relays, refuses MAIL before EHLO/HELO;
    it offers AUTH but does not require it."""
    recorder = Recorder()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # implicit TLS is not seen by aiosmtpd as "TLS started", so it only insists on TLS for STARTTLS
    kwargs = {"authenticator": authenticate, "auth_require_tls": mode == "starttls"}
    if mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    elif mode == "ssl":
        kwargs.update(ssl_context=context)
    controller = (HeloOnlyController if helo_only else Controller)(
        recorder, hostname="127.0.0.1", port=free_port(), server_hostname="localhost", **kwargs)
    controller.start()
    recorder.controller = controller
    return controller, recorder
