"""What every management command that promises JSON shares."""

import contextlib
import io
import logging

logger = logging.getLogger("core.commands")


class LogStream(io.TextIOBase):
    """A text stream that writes each complete line to a logger."""

    def __init__(self, log):
        super().__init__()
        self.log, self.pending = log, ""

    def writable(self):
        return True

    def write(self, text):
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            if line.strip():
                self.log.warning("stdout_diverted %s", line)
        return len(text)

    def flush(self):
        if self.pending.strip():
            self.log.warning("stdout_diverted %s", self.pending)
        self.pending = ""


class JsonOutputMixin:
    """For a command whose --json prints one JSON object on stdout: while it runs, anything
    else written to sys.stdout (the Razorpay SDK prints "Connection failed." there when
    Razorpay is slow) goes to the log, on stderr. The command's own self.stdout was bound
    to the real stdout when it was created, so the JSON still goes there. Commands run in
    one thread, so swapping sys.stdout for the duration is safe."""

    def execute(self, *args, **options):
        if not options.get("json"):
            return super().execute(*args, **options)
        diverted = LogStream(logger)
        try:
            with contextlib.redirect_stdout(diverted):
                return super().execute(*args, **options)
        finally:
            diverted.flush()
