"""Files of every kind a customer might send, and helpers to prove nothing was stored."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from support.models import Ticket, TicketAttachment, TicketMessage

MB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 200
GIF = b"GIF89a\x01\x00\x01\x00" + b"\x00" * 100
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 100
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x11" * 100
LOG = "2026-01-01 12:00:01 sshd[42]: Connection refused — ünïcode ok\n".encode()

# name, content, words the refusal must contain
REFUSED = {
    "html named png": ("screenshot.png", b"<html><body><script>alert(1)</script></body></html>", "markup"),
    "doctype named txt": ("notes.txt", b"<!DOCTYPE html><p>hi</p>", "markup"),
    "script named log": ("server.log", b"  <script src=//evil.example/x.js></script>", "markup"),
    "svg": ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "markup"),
    "gif polyglot": ("cat.gif", GIF + b"/*<script>alert(document.cookie)</script>*/", "markup"),
    "windows exe": ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100, "program"),
    "elf": ("tool.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "program"),
    "unknown binary": ("data.bin", b"\x00\x01\x02\x03\xfe\xff" * 50, "not an accepted file type"),
    "latin-1 text": ("old.txt", "café".encode("latin-1"), "not an accepted file type"),
    "empty": ("empty.txt", b"", "empty"),
}


def upload(name, content, content_type="image/png"):
    # The browser's Content-Type is deliberately a lie in many cases: it must not matter.
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files():
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def assert_nothing_stored(tickets=0, messages=0):
    assert Ticket.objects.count() == tickets
    assert TicketMessage.objects.count() == messages
    assert TicketAttachment.objects.count() == 0
    assert stored_files() == []


@pytest.fixture
def alice_ticket(alice):
    from support.services import ticket_create

    return ticket_create(user=alice, subject="SSH refuses me", body="Port 22 closed?")
