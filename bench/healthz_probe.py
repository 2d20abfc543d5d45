"""What /healthz's database probe costs: the bounded read of the orders table against the `SELECT 1`
it replaced (issue 23), in process, on the database DATABASE_URL names (migrated).

    DATABASE_URL=postgres://… python bench/healthz_probe.py
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hostingportal.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from hostingportal import health  # noqa: E402

PROBES = 2000


def select_one():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def main():
    for name, probe in (("SELECT 1 (before)", select_one), ("check_database (after)", health.check_database)):
        probe()
        started = time.perf_counter()
        for _ in range(PROBES):
            probe()
        print(f"{name}: {(time.perf_counter() - started) / PROBES * 1e6:.0f} µs per probe")


if __name__ == "__main__":
    main()
