"""A real SMTP server on 127.0.0.1 (aiosmtpd) in three security modes, with a self-signed certificate."""
from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
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
    """Keeps what it receives; can drop the connection after storing a message, before replying."""

    def __init__(self):
        self.received = []
        self.drop_after_storing: set[str] = set()  # recipient addresses that trigger the drop

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        if self.drop_after_storing & set(envelope.rcpt_tos):
            self.drop_after_storing -= set(envelope.rcpt_tos)
            server.transport.abort()  # the message is stored; the client never hears back
            return "250 never delivered to the client"
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = getattr(auth_data, "login", None) == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: the server sends the 535 itself


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(mode: str, cert: Path, key: Path) -> tuple[Controller, Recorder]:
    recorder = Recorder()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    # implicit TLS is not seen by aiosmtpd as "TLS started", so it only insists on TLS for STARTTLS
    kwargs = {"authenticator": authenticate, "auth_require_tls": mode == "starttls"}
    if mode == "starttls":
        kwargs.update(tls_context=context, require_starttls=True)
    elif mode == "ssl":
        kwargs.update(ssl_context=context)
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), server_hostname="localhost",
                            **kwargs)
    controller.start()
    return controller, recorder
