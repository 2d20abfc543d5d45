"""What a ticket attachment may be, decided by its bytes (OWASP File Upload Cheat Sheet).

The allow-list is a small signature table of our own rather than puremagic:
we accept seven types, and a table of seven rows is something a reviewer can
check line by line. puremagic knows hundreds of formats, weighs its guesses
by the file's extension, and would still need our own rules for text and for
markup, so it would add a dependency to audit without removing any code.

Rules, applied to every file before anything is written:
- size: 1 byte to 10 MB a file; at most 5 files and 25 MB a message;
- type by content only (the name and the browser's Content-Type are ignored):
  PNG, JPEG, GIF, WebP, PDF, ZIP, or plain text (valid UTF-8 without NUL bytes);
- executables (MZ, ELF, Mach-O) are named as such and refused;
- markup: text that starts with a tag (`<html`, `<!doctype`, `<svg`, `<?xml`, ...)
  is refused, and so is *any* file whose first 4 KB contain an HTML/SVG/XML
  token (`<script`, `<html`, ...). Browsers sniff roughly the first 1.5 KB, so
  4 KB leaves margin; this catches GIF/JPEG/PDF polyglots that a browser or an
  old viewer could run as a page. The price: a log that quotes HTML in its first
  4 KB, or a ZIP whose first stored entry is an uncompressed HTML page, is refused
  too; the message says so and the customer can zip (compress) or paste it instead.
Downloads are still served as attachments with nosniff and a sandbox CSP, so
these rules are one layer, not the only one.
"""

import codecs
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from django.core.files.uploadhandler import FileUploadHandler, StopUpload

from .models import MAX_ATTACHMENT_BYTES

MAX_FILE_BYTES = MAX_ATTACHMENT_BYTES  # 10 MB, also a database constraint
MAX_FILES = 5
MAX_TOTAL_BYTES = 25 * 1024 * 1024
SNIFF_BYTES = 4096
MAX_NAME_LENGTH = 100
CHUNK = 64 * 1024

ALLOWED_TYPES_TEXT = "PNG, JPEG, GIF, WebP, PDF, ZIP or plain text"

# (content type, test on the first bytes). Order does not matter: signatures do not overlap.
SIGNATURES = [
    ("image/png", lambda head: head.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", lambda head: head.startswith(b"\xff\xd8\xff")),
    ("image/gif", lambda head: head[:6] in (b"GIF87a", b"GIF89a")),
    ("image/webp", lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP"),
    ("application/pdf", lambda head: head.startswith(b"%PDF-")),
    ("application/zip", lambda head: head.startswith(b"PK\x03\x04")),
]
EXECUTABLE_MAGIC = (
    b"MZ",
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
MARKUP_TOKENS = re.compile(
    rb"<(script|html|!doctype|svg|\?xml|iframe|object|embed|body|head|meta|style|img|link|form)[\s/>]",
    re.IGNORECASE,
)
# Text that opens with a tag, a comment or a processing instruction is markup, whatever the rest says.
STARTS_WITH_MARKUP = re.compile(rb"^(\xef\xbb\xbf)?\s*<[a-z!?/]", re.IGNORECASE)


class AttachmentRefused(ValueError):
    """A file, or the set of files of one message, breaks a rule. The message is shown to the user."""


@dataclass(frozen=True)
class CheckedFile:
    file: object  # the UploadedFile, rewound
    name: str  # sanitised, for display and Content-Disposition only
    content_type: str  # from the bytes, never from the client
    size: int
    sha256: str


def mb(size):
    return f"{size // (1024 * 1024)} MB"


def files_check(files) -> list[CheckedFile]:
    """Check every file of one message; raise AttachmentRefused naming the rule on the first failure.

    Reads each file once (hash, size, type) and writes nothing anywhere."""
    files = list(files)
    if len(files) > MAX_FILES:
        raise AttachmentRefused(f"Too many files: at most {MAX_FILES} attachments per message.")
    checked = [file_check(file) for file in files]
    if sum(item.size for item in checked) > MAX_TOTAL_BYTES:
        raise AttachmentRefused(f"Attachments too large together: at most {mb(MAX_TOTAL_BYTES)} per message.")
    return checked


def file_check(file) -> CheckedFile:
    name = name_sanitise(getattr(file, "name", "") or "")
    label = f"“{name}”"
    if file.size is not None and file.size > MAX_FILE_BYTES:
        raise AttachmentRefused(f"{label} is too large: at most {mb(MAX_FILE_BYTES)} per file.")
    digest, size, head, is_text = file_scan(file)
    if size == 0:
        raise AttachmentRefused(f"{label} is empty.")
    if size > MAX_FILE_BYTES:
        raise AttachmentRefused(f"{label} is too large: at most {mb(MAX_FILE_BYTES)} per file.")
    content_type = content_type_detect(head, is_text, label)
    return CheckedFile(file=file, name=name, content_type=content_type, size=size, sha256=digest)


def file_scan(file):
    """SHA-256, size, first bytes, and whether the whole file is UTF-8 text without NULs."""
    file.seek(0)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    size, head, is_text = 0, b"", True
    while chunk := file.read(CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        if is_text:
            is_text = text_chunk_ok(decoder, chunk)
        if size > MAX_FILE_BYTES:
            break  # the caller refuses it; no need to hash the rest
    if is_text:
        is_text = text_chunk_ok(decoder, b"", final=True)
    file.seek(0)
    return digest.hexdigest(), size, head, is_text


def text_chunk_ok(decoder, chunk, final=False):
    if b"\x00" in chunk:
        return False
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError:
        return False
    return True


def content_type_detect(head, is_text, label):
    if head.startswith(EXECUTABLE_MAGIC):
        raise AttachmentRefused(f"{label} is a program (executable); programs are not accepted.")
    if MARKUP_TOKENS.search(head) or (is_text and STARTS_WITH_MARKUP.match(head)):
        raise AttachmentRefused(
            f"{label} contains HTML, SVG or XML markup, which is not accepted as an attachment "
            f"(accepted: {ALLOWED_TYPES_TEXT}). Zip it, or paste the relevant part into your message."
        )
    for content_type, matches in SIGNATURES:
        if matches(head):
            return content_type
    if is_text:
        return "text/plain"
    raise AttachmentRefused(f"{label} is not an accepted file type. Accepted: {ALLOWED_TYPES_TEXT}.")


def name_sanitise(raw):
    """A display name: no folders, no control or format characters (bidi overrides), no leading dots,
    at most MAX_NAME_LENGTH characters keeping the extension. Letters of any script are kept."""
    name = unicodedata.normalize("NFC", str(raw))
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().lstrip(".").strip()
    if len(name) > MAX_NAME_LENGTH:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:10] if dot and stem else ""
        name = name[: MAX_NAME_LENGTH - len(ext) - 1].rstrip() + ("." + ext if ext else "")
    return name or "attachment"


class UploadLimitHandler(FileUploadHandler):
    """Stops reading a multipart body as soon as it breaks a count or size limit, so a 2 GB
    upload is never written to a temporary file. The view reads `error` and shows it;
    `files_check` applies the same limits again to whatever was received."""

    def __init__(self, request=None):
        super().__init__(request)
        self.error = ""
        self.count = 0
        self.file_bytes = 0
        self.total_bytes = 0

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self.count += 1
        self.file_bytes = 0
        if self.count > MAX_FILES:
            self.refuse(f"Too many files: at most {MAX_FILES} attachments per message.")

    def receive_data_chunk(self, raw_data, start):
        self.file_bytes += len(raw_data)
        self.total_bytes += len(raw_data)
        if self.file_bytes > MAX_FILE_BYTES:
            self.refuse(f"“{name_sanitise(self.file_name)}” is too large: at most {mb(MAX_FILE_BYTES)} per file.")
        if self.total_bytes > MAX_TOTAL_BYTES:
            self.refuse(f"Attachments too large together: at most {mb(MAX_TOTAL_BYTES)} per message.")
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler builds the file

    def refuse(self, message):
        self.error = message
        # connection_reset=False: Django drains the rest of the body so the client gets our answer.
        raise StopUpload(connection_reset=False)


def upload_limit_install(request):
    """Put an UploadLimitHandler first; call before request.POST/FILES are read."""
    handler = UploadLimitHandler(request)
    request.upload_handlers.insert(0, handler)
    return handler
