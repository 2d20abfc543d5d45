import pytest

from support.tests.conftest import GIF, JPEG, LOG, MB, PDF, PNG, REFUSED, WEBP, ZIP, upload
from support.uploads import AttachmentRefused, file_check, files_check, name_sanitise


@pytest.mark.parametrize(
    "name, content, expected",
    [
        ("a.png", PNG, "image/png"),
        ("a.jpg", JPEG, "image/jpeg"),
        ("a.gif", GIF, "image/gif"),
        ("a.webp", WEBP, "image/webp"),
        ("a.pdf", PDF, "application/pdf"),
        ("a.zip", ZIP, "application/zip"),
        ("a.log", LOG, "text/plain"),
        ("mislabelled.txt", PNG, "image/png"),  # the type comes from the bytes, not the name
    ],
)
def test_it_accepts_allowed_types_by_content(name, content, expected):
    checked = file_check(upload(name, content, content_type="application/octet-stream"))
    assert checked.content_type == expected
    assert checked.size == len(content)
    assert len(checked.sha256) == 64


def test_it_records_the_sha256_of_the_content():
    import hashlib

    assert file_check(upload("a.png", PNG)).sha256 == hashlib.sha256(PNG).hexdigest()


@pytest.mark.parametrize("case", REFUSED.keys())
def test_it_refuses_each_bad_file_with_a_message_naming_the_reason(case):
    name, content, words = REFUSED[case]
    with pytest.raises(AttachmentRefused) as refusal:
        file_check(upload(name, content, content_type="image/png"))
    assert words in str(refusal.value)


def test_it_refuses_a_file_over_10_mb_naming_the_limit():
    with pytest.raises(AttachmentRefused, match="too large: at most 10 MB per file"):
        file_check(upload("big.log", b"a" * (10 * MB + 1)))


def test_it_accepts_a_file_of_exactly_10_mb():
    assert file_check(upload("big.log", b"a" * (10 * MB))).size == 10 * MB


def test_it_refuses_more_than_five_files():
    with pytest.raises(AttachmentRefused, match="at most 5 attachments"):
        files_check([upload(f"{n}.png", PNG) for n in range(6)])


def test_it_refuses_more_than_25_mb_together():
    with pytest.raises(AttachmentRefused, match="at most 25 MB per message"):
        files_check([upload(f"{n}.log", b"a" * (9 * MB)) for n in range(3)])


def test_it_allows_markup_after_the_first_4_kb_of_a_log():
    # The documented rule: only the sniffing window is scanned, so a long log quoting HTML later is fine.
    content = b"x" * 5000 + b"\n<html> in a proxy error page\n"
    assert file_check(upload("proxy.log", content)).content_type == "text/plain"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\me\\shot.png", "shot.png"),
        ("..", "attachment"),
        (".htaccess", "htaccess"),
        ("inv\u202egnp.exe", "invgnp.exe"),  # a right-to-left override would disguise the extension
        ("line\r\nbreak\x00.txt", "linebreak.txt"),
        ("रसीद-चालान.pdf", "रसीद-चालान.pdf"),
        ("", "attachment"),
    ],
)
def test_it_sanitises_names(raw, expected):
    assert name_sanitise(raw) == expected


def test_it_shortens_long_names_keeping_the_extension():
    name = name_sanitise("a" * 300 + ".png")
    assert len(name) == 100
    assert name.endswith(".png")
