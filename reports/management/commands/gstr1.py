import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reports.gstr1 import BadMonth, gstr1_write, month_parse


class Command(BaseCommand):
    help = (
        "Write the GSTR-1 return of a calendar month (YYYY-MM) as one JSON object, in the GST portal's "
        "offline-tool format, from the stored tax invoices and credit notes: to stdout, or to FILE with "
        "--output (written whole or not at all). Exit 2 for a malformed or future month or a missing "
        "SELLER_GSTIN."
    )

    def add_arguments(self, parser):
        parser.add_argument("month", help="YYYY-MM, in the portal's time zone")
        parser.add_argument("--output", metavar="FILE", help="write the JSON here instead of stdout")

    def handle(self, *args, **options):
        try:
            first = month_parse(options["month"], timezone.localdate())
        except BadMonth as refusal:
            raise CommandError(str(refusal), returncode=2) from None
        if not settings.SELLER_GSTIN:
            raise CommandError("SELLER_GSTIN is not set: a return is filed under the seller's GSTIN.", returncode=2)
        if options["output"]:
            self.write_file(first, Path(options["output"]))
        else:
            with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as spool:
                gstr1_write(first, spool, gstin=settings.SELLER_GSTIN)
                spool.seek(0)
                while chunk := spool.read(1 << 16):
                    self.stdout.write(chunk, ending="")
                self.stdout.write("")

    def write_file(self, first, path: Path):
        """Beside the target, then renamed: a failure halfway leaves no file."""
        handle, partial = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".partial")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                gstr1_write(first, out, gstin=settings.SELLER_GSTIN)
            os.replace(partial, path)
        except BaseException:
            os.unlink(partial)
            raise
