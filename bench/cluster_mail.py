"""A mail backend for the cluster trial: every message any process sends is one
line appended to one file (CLUSTER_MAIL_LOG), so the trial can count sends across
both nodes' web and worker processes and find a mail sent twice.

One write() per line on a file opened with O_APPEND: lines from different
processes never interleave on a local file system.
"""

import hashlib
import json
import os
import time

from django.core.mail.backends.base import BaseEmailBackend


class JsonLinesEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        path = os.environ["CLUSTER_MAIL_LOG"]
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for message in email_messages:
                line = {
                    "to": sorted(message.to),
                    "subject": message.subject,
                    "body_sha256": hashlib.sha256(message.body.encode()).hexdigest(),
                    "pid": os.getpid(),
                    "at": time.time(),
                }
                os.write(fd, (json.dumps(line) + "\n").encode())
        finally:
            os.close(fd)
        return len(email_messages)
