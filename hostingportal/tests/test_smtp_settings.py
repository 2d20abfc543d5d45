"""Mail through the host's own SMTP server, configured from the environment (CONTRACT: Configuration).

A tiny SMTP server runs in a thread of the test; `manage.py sendtestemail` runs as a subprocess with the
production variables plus EMAIL_HOST/PORT/HOST_USER/HOST_PASSWORD/USE_TLS, and the mail must arrive with the
credentials given.
"""

import base64
import socketserver
import threading

import pytest

from hostingportal.tests.test_settings import PRODUCTION_ENV, run_manage

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"


class SMTPRecorder(socketserver.ThreadingTCPServer):
    """Just enough of RFC 5321 for smtplib: EHLO with AUTH PLAIN, STARTTLS refused, one message per session."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), SMTPSession)
        self.messages = []  # dicts: auth, mail_from, rcpt_to, data
        self.starttls_asked = False


class SMTPSession(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        message = {"auth": None, "rcpt_to": []}
        self.reply("220 recorder ESMTP")
        while line := self.rfile.readline():
            command = line.decode().rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-recorder\r\n250-AUTH PLAIN\r\n250-STARTTLS\r\n250 8BITMIME\r\n")
            elif verb == "STARTTLS":
                self.server.starttls_asked = True
                self.reply("454 TLS not available")
            elif verb == "AUTH":
                # "AUTH PLAIN <base64 \0user\0password>"
                _, user, password = base64.b64decode(command.split()[2]).split(b"\0")
                message["auth"] = (user.decode(), password.decode())
                self.reply("235 ok")
            elif verb == "MAIL":
                message["mail_from"] = command[10:]
                self.reply("250 ok")
            elif verb == "RCPT":
                message["rcpt_to"].append(command[8:])
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (body := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(body.decode())
                message["data"] = "".join(data)
                self.server.messages.append(message)
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_server():
    server = SMTPRecorder()
    # Polled every 20 ms for shutdown(), which waits for the next poll (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def smtp_env(server, **overrides):
    return {
        **PRODUCTION_ENV,
        "EMAIL_BACKEND": SMTP_BACKEND,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(server.server_address[1]),
        "EMAIL_HOST_USER": "portal@example.com",
        "EMAIL_HOST_PASSWORD": "smtp-secret",
        "EMAIL_USE_TLS": "False",
        **overrides,
    }


def test_mail_goes_through_the_smtp_server_named_in_the_environment_with_its_credentials(smtp_server):
    result = run_manage("sendtestemail", "ops@example.com", **smtp_env(smtp_server))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["auth"] == ("portal@example.com", "smtp-secret")
    assert message["rcpt_to"] == ["<ops@example.com>"]
    assert "Test email from" in message["data"]


def test_email_use_tls_makes_the_portal_ask_for_starttls_and_never_send_in_the_clear(smtp_server):
    result = run_manage("sendtestemail", "ops@example.com", **smtp_env(smtp_server, EMAIL_USE_TLS="True"))
    assert smtp_server.starttls_asked
    assert result.returncode != 0  # this recorder has no TLS: the portal gives up rather than send in the clear
    assert smtp_server.messages == []
