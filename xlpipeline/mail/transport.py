"""Mail settings and the ways out: SMTP (none / STARTTLS / implicit TLS) and Outlook on Windows.

Settings come from a TOML file (`--config`, else `xlpipeline-mail.toml` beside the workbook,
else the user's config folder) and environment variables, which win. The password comes from
`XLP_SMTP_PASSWORD` or the system keyring (`keyring`, service "xlpipeline-smtp"); it is never
read from the workbook, stored, or printed.
"""
from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from xlpipeline.errors import FileProblem, UserError
from xlpipeline.names import CONFIG_NAME
from xlpipeline.mail.message import Envelope, Mailbox, check_address, check_header_text

SECURITY = ("none", "starttls", "ssl")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
KEYRING_SERVICE = "xlpipeline-smtp"
ENV = {"host": "XLP_SMTP_HOST", "port": "XLP_SMTP_PORT", "security": "XLP_SMTP_SECURITY",
       "cafile": "XLP_SMTP_CAFILE", "user": "XLP_SMTP_USER", "from": "XLP_MAIL_FROM",
       "from_name": "XLP_MAIL_FROM_NAME", "timeout": "XLP_SMTP_TIMEOUT"}
PASSWORD_ENV = "XLP_SMTP_PASSWORD"


class SendFailed(Exception):
    """The server refused the message before taking it: safe to try again."""


class SendUnknown(Exception):
    """The connection broke after the message went out: it may have been delivered."""


@dataclass(frozen=True)
class MailSettings:
    sender: Mailbox
    host: str = ""
    port: int = 0
    security: str = "starttls"
    cafile: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    subject: str | None = None   # jinja2 text; None: the template beside the rules
    body: str | None = None
    source: str = "环境变量"


def config_path(explicit: Path | None, workbook: Path) -> Path | None:
    if explicit is not None:
        if not explicit.exists():
            raise FileProblem(f"{explicit}: 邮件设置文件不存在")
        return explicit
    return next((p for p in (workbook.parent / CONFIG_NAME, user_config()) if p.exists()), None)


PREVIEW_SENDER = Mailbox("", "preview@example.invalid")  # a preview's stand-in: it sends nothing


def load_settings(explicit: Path | None, workbook: Path, need_server: bool, need_sender: bool = True) -> MailSettings:
    path = config_path(explicit, workbook)
    return parse_settings(read_settings_file(path) if path else {}, str(path) if path else "环境变量", need_server,
                          os.environ, need_sender)


def read_settings_file(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FileProblem(f"{path}: 邮件设置格式错误：{exc}") from None


def parse_settings(data: dict, where: str, need_server: bool, env, need_sender: bool = True) -> MailSettings:
    """Settings from a settings file's data, with the environment variables in `env` winning; a
    preview (`need_sender` false) may have no sender yet."""
    smtp, mail = data.get("smtp", {}), data.get("mail", {})
    if not isinstance(smtp, dict) or not isinstance(mail, dict):
        raise FileProblem(f"{where}: [smtp] 和 [mail] 应为表（见 README 的示例）")
    smtp, mail = dict(smtp), dict(mail)
    unknown = set(data) - {"smtp", "mail"} | set(smtp) - set(ENV) | set(mail) - {"subject", "body"}
    if "password" in smtp or unknown:
        raise FileProblem(f"{where}: 不认识的设置 {'、'.join(sorted(unknown | ({'password'} & set(smtp))))}"
                          "（密码请放在环境变量 XLP_SMTP_PASSWORD 或系统钥匙串中，不要写进文件）")
    for key, variable in ENV.items():
        if env.get(variable):
            smtp[key] = env[variable]
    if not smtp.get("from") and not need_sender:
        smtp["from"] = PREVIEW_SENDER.address
    if not smtp.get("from"):
        raise UserError(f"未设置发件人邮箱：请在 {CONFIG_NAME} 的 [smtp] 中写 from = \"…\"，或设置环境变量 XLP_MAIL_FROM")
    sender = Mailbox(check_header_text(str(smtp.get("from_name", "")), "发件人名称"),
                     check_address(str(smtp["from"]), "发件人邮箱"))
    security = str(smtp.get("security", "starttls")).lower()
    if security not in SECURITY:
        raise UserError(f"{where}: security 应为 {' / '.join(SECURITY)} 之一，实际为“{security}”")
    if need_server and not smtp.get("host"):
        raise UserError(f"未设置邮件服务器：请在 {CONFIG_NAME} 的 [smtp] 中写 host = \"…\"，或设置环境变量 XLP_SMTP_HOST")
    try:
        port = int(smtp.get("port") or DEFAULT_PORTS[security])
        timeout = float(smtp.get("timeout", 30))
    except ValueError:
        raise UserError(f"{where}: port 和 timeout 应为数字") from None
    if not 0 < port < 65536 or not 0 < timeout <= 3600:
        raise UserError(f"{where}: port 应为 1–65535，timeout 应为 0–3600 秒")
    host = str(smtp.get("host", ""))
    if re.search(r"[\s\x00-\x1f/]", host):
        raise UserError(f"{where}: 邮件服务器地址“{host}”含空格或不允许的字符")
    user = str(smtp["user"]) if smtp.get("user") else None
    return MailSettings(sender, host, port, security, smtp.get("cafile"), user,
                        _password(user) if need_server else None, timeout, mail.get("subject"), mail.get("body"),
                        where)


def settings_file(workbook: Path | None) -> Path:
    """The settings file a page edits: the one `send` reads for this workbook, else the user's."""
    return (config_path(None, workbook) if workbook else None) or user_config()


def save_settings(path: Path, smtp: dict[str, str], password: str | None = None) -> None:
    """Write the given [smtp] settings over those in the file (a blank value removes one; other keys
    and [mail] are kept), checked as `send` will read them, crash-safely with the previous file kept
    as a backup; a password goes into the system keyring, never into the file."""
    import tomli_w
    from xlpipeline.ooxml.safesave import replace_file
    data = read_settings_file(path) if path.exists() else {}
    merged = {**data.get("smtp", {}), **smtp}
    data["smtp"] = {key: value for key, value in merged.items() if value not in ("", None)}
    for key in ("port", "timeout"):
        if key in data["smtp"]:
            number = str(data["smtp"][key]).strip()
            data["smtp"][key] = int(number) if number.isdigit() else number
    parse_settings(data, str(path), need_server=False, env={})  # refuse what `send` would refuse
    if password:
        store_password(data["smtp"].get("user"), password)
    text = tomli_w.dumps(data).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_file(path, lambda out: out.write(text))


def store_password(user: str | None, password: str) -> None:
    if not user:
        raise UserError("要保存密码，请先填写登录用户名")
    try:
        import keyring
        import keyring.errors
    except ImportError:
        raise UserError("未安装 keyring，无法把密码存入系统钥匙串：pip install keyring") from None
    try:
        keyring.set_password(KEYRING_SERVICE, user, password)
    except keyring.errors.KeyringError as exc:
        raise UserError(f"无法把密码存入系统钥匙串：{exc}") from None


def config_dir() -> Path:
    """The user's folder of our settings: %APPDATA%\\xlpipeline on Windows, else ~/.config/xlpipeline."""
    return Path(os.environ.get("APPDATA") or Path.home() / ".config") / "xlpipeline"


def user_config() -> Path:
    return config_dir() / "mail.toml"


def _password(user: str | None) -> str | None:
    if user is None:
        return None
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    try:
        import keyring
    except ImportError:
        keyring = None
    secret = keyring.get_password(KEYRING_SERVICE, user) if keyring else None
    if secret is None:
        raise UserError(f"未找到用户 {user} 的邮箱密码：请设置环境变量 {PASSWORD_ENV}，"
                        f"或存入系统钥匙串（keyring set {KEYRING_SERVICE} {user}）")
    return secret


class SmtpTransport:
    """One SMTP connection for a run, opened on first use and again after a broken one."""

    def __init__(self, settings: MailSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass

    def ready(self) -> None:
        """Connect (again) if needed: called before a message is marked as being sent, so that a
        server that cannot be reached leaves no message in an uncertain state."""
        if self.smtp is None:
            self.smtp = self._connect()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = f"{s.host}:{s.port}"
        try:
            context = ssl.create_default_context(cafile=s.cafile) if s.security != "none" else None
        except (OSError, ssl.SSLError) as exc:
            raise UserError(f"无法读取 CA 证书文件 {s.cafile}：{exc}") from None
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            # smtp.mail() sends no greeting of its own, and a relay that takes mail without login still
            # wants EHLO (or HELO) first; STARTTLS forgets it, so greet again (RFC 3207 §4.2)
            smtp.ehlo_or_helo_if_needed()
            if s.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo_or_helo_if_needed()
            if s.user:
                _login(smtp, s.user, s.password or "")
        except socket.gaierror:
            raise UserError(f"无法解析邮件服务器地址“{s.host}”，请检查 host 设置") from None
        except ssl.SSLCertVerificationError as exc:
            raise UserError(f"邮件服务器 {where} 的证书验证失败（{exc.verify_message}）；"
                            "如单位使用内部证书，请在设置中用 cafile 指定其 CA 证书") from None
        except ssl.SSLError as exc:
            raise UserError(f"与邮件服务器 {where} 的 TLS 握手失败：{exc.reason or exc}") from None
        except smtplib.SMTPNotSupportedError:
            raise UserError(f"邮件服务器 {where} 不支持 STARTTLS；请确认 security 与端口设置") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise UserError(f"邮件服务器拒绝登录（用户 {s.user}）：{_reply(exc.smtp_error)}") from None
        except (TimeoutError, socket.timeout):
            raise UserError(f"连接邮件服务器 {where} 超时（{s.timeout:g} 秒）") from None
        except smtplib.SMTPServerDisconnected as exc:
            if isinstance(exc.__context__, TimeoutError):  # smtplib reports a silent server as a disconnect
                raise UserError(f"连接邮件服务器 {where} 超时（{s.timeout:g} 秒）") from None
            raise UserError(f"邮件服务器 {where} 断开了连接：{exc}") from None
        except ConnectionRefusedError:
            raise UserError(f"邮件服务器 {where} 拒绝连接，请检查 host、port 设置") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise UserError(f"连接邮件服务器 {where} 失败：{exc}") from None
        return smtp

    def send(self, envelope: Envelope, data: bytes) -> None:
        """Hand one message over. SendFailed: it was not taken; SendUnknown: it may have been."""
        self.ready()
        smtp = self.smtp
        try:
            code, reply = smtp.mail(envelope.sender.address)
            if code != 250:
                raise self._refused(code, reply, "发件人被拒绝")
            for address in envelope.recipients:
                code, reply = smtp.rcpt(address)
                if code not in (250, 251):
                    raise self._refused(code, reply, f"收件人 {address} 被拒绝")
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise self._refused(code, reply, "服务器不接受邮件内容")
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise SendFailed(f"发送前连接中断：{exc}") from None
        try:  # from here on the server may hold the message, whatever happens to the connection
            smtp.send(re.sub(rb"(?m)^\.", b"..", data) + b".\r\n")
            code, reply = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise SendUnknown(f"邮件已发出但未收到服务器确认（{exc}）") from None
        if code != 250:
            raise self._refused(code, reply, "服务器拒收")

    def _refused(self, code: int, reply, what: str) -> SendFailed:
        """The server said no to this message; the connection stays usable for the next one unless
        the server is closing it (421), or a reset fails."""
        if code == 421:
            self._drop()
        else:
            try:
                self.smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
        return SendFailed(f"{what}：{code} {_reply(reply)}")

    def _drop(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None


class OutlookTransport:
    """Send through the Outlook desktop client (Windows, COM), for offices without SMTP access.
    Outlook takes the message into its own outbox; it sends it on its next send/receive."""

    def __init__(self, settings: MailSettings):
        self.settings = settings

    def __enter__(self):
        if os.name != "nt":
            raise UserError("用 Outlook 发送需要 Windows 和 Outlook 桌面版；其他系统请用 SMTP")
        try:
            import win32com.client
        except ImportError:
            raise UserError("用 Outlook 发送需要 pywin32：pip install pywin32") from None
        self.outlook = win32com.client.Dispatch("Outlook.Application")
        return self

    def __exit__(self, *exc) -> None:
        pass

    def ready(self) -> None:
        pass

    def send(self, envelope: Envelope, data: bytes) -> None:
        try:
            item = self.outlook.CreateItem(0)  # olMailItem
            item.To = "; ".join(m.address for m in envelope.to)
            item.CC = "; ".join(m.address for m in envelope.cc)
            item.Subject = envelope.subject
            item.Body = envelope.body
            for attachment in envelope.attachments:
                item.Attachments.Add(str(attachment.path.resolve()))
        except Exception as exc:  # COM reports everything as com_error
            raise SendFailed(f"Outlook 无法创建邮件：{exc}") from None
        try:
            item.Send()
        except Exception as exc:
            raise SendUnknown(f"Outlook 发送时出错，邮件可能已在其发件箱中：{exc}") from None


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """Log in with one mechanism only: smtplib would try each one the server offers, and a wrong
    password then counts several times against the account's lock-out limit."""
    smtp.ehlo_or_helo_if_needed()
    offered = smtp.esmtp_features.get("auth", "").upper().split()
    if "PLAIN" in offered:
        smtp.user, smtp.password = user, password
        smtp.auth("PLAIN", smtp.auth_plain)
    else:
        smtp.login(user, password)


def _reply(reply) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
