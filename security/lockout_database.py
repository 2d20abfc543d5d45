"""The sign-in lockout's counts in PostgreSQL, for while the shared cache (Redis) is
unavailable (security.lockout): the same budget as in the cache, taken the same way.

An attempt is taken before its password is checked, by one INSERT ... ON CONFLICT DO
UPDATE ... WHERE on the pair's row: of any number of sign-ins racing for one pair, on
any thread of any web node, PostgreSQL lets the row's count past the limit for none
(each waits for the row's lock, then re-checks the WHERE against the committed count).
A refused attempt changes nothing, so it needs no giving back and does not extend the
cool-off. A take also deletes a few expired rows (skipping locked ones), so the table
holds about the pairs of the last cool-off, whatever an outage brought."""

import logging

from django.db import connections, router, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from .models import SignInAttemptCount

logger = logging.getLogger("security.lockout")

# Expired rows deleted per attempt taken: a long outage's pairs go in small bites.
EXPIRED_DELETED_PER_TAKE = 100


def take_sql(using):
    connection = connections[using]
    quote = connection.ops.quote_name
    table = quote(SignInAttemptCount._meta.db_table)
    column = {field.name: quote(field.column) for field in SignInAttemptCount._meta.concrete_fields}
    key, attempts, expires_at = column["key"], column["attempts"], column["expires_at"]
    expired = f"{table}.{expires_at} <= %s"
    return (
        f"INSERT INTO {table} ({key}, {column['username']}, {column['ip_address']}, {attempts}, {expires_at}) "
        f"VALUES (%s, %s, %s, 1, %s) "
        f"ON CONFLICT ({key}) DO UPDATE SET "
        f"{attempts} = CASE WHEN {expired} THEN 1 ELSE {table}.{attempts} + 1 END, "
        f"{expires_at} = CASE WHEN {expired} THEN EXCLUDED.{expires_at} ELSE {table}.{expires_at} END "
        f"WHERE {expired} OR {table}.{attempts} < %s "
        f"RETURNING {attempts}"
    )


def attempts_take(keys, *, username, ip_address, limit, cool_off) -> int | None:
    """Take one of the pair's `limit` attempts under each of `keys` (axes' cache keys of the
    request): the highest count so taken, or None (nothing taken) once any key has had its
    `limit` within its cool-off. A key's count starts at 1 with a fresh cool-off when its
    row is new or expired. Atomic: see the module's docstring."""
    now = timezone.now()
    using = router.db_for_write(SignInAttemptCount)
    connection = connections[using]
    field = SignInAttemptCount._meta.get_field
    at_now = field("expires_at").get_db_prep_value(now, connection)
    until = field("expires_at").get_db_prep_value(now + cool_off, connection)
    address = field("ip_address").get_db_prep_value(ip_address, connection)
    sql = take_sql(using)
    counts = []
    with transaction.atomic(using=using), connection.cursor() as cursor:
        for key in keys:
            cursor.execute(sql, [key, username, address, until, at_now, at_now, at_now, limit])
            row = cursor.fetchone()
            if row is None:  # this key has had its attempts: take none under the others either
                transaction.set_rollback(True, using=using)
                return None
            counts.append(row[0])
    attempts_expired_delete(now)
    return max(counts)


def attempts_expired_delete(now):
    """Delete a few rows whose cool-off is over (they count nothing), skipping any row a
    sign-in holds: never a wait for this request, and never a deadlock with another."""
    with transaction.atomic(using=router.db_for_write(SignInAttemptCount)):
        keys = list(
            SignInAttemptCount.objects.filter(expires_at__lte=now)
            .select_for_update(skip_locked=True)
            .values_list("key", flat=True)[:EXPIRED_DELETED_PER_TAKE]
        )
        if keys:
            SignInAttemptCount.objects.filter(key__in=keys, expires_at__lte=now).delete()


def attempts_give_back(keys):
    """An attempt taken and then not a guess (its password was right, the sign-in refused
    after the check) is given back. A reset or the cool-off ended it already: nothing to give."""
    SignInAttemptCount.objects.filter(key__in=keys, attempts__gt=0, expires_at__gt=timezone.now()).update(
        attempts=F("attempts") - 1
    )


def attempts_cool_off_renew(keys, cool_off):
    """A failure keeps its attempt, and the pair's cool-off runs again from it (as axes'
    cache handler renews a failure's key)."""
    SignInAttemptCount.objects.filter(key__in=keys).update(expires_at=timezone.now() + cool_off)


def attempts_locked_out(keys, *, username, ip_address, limit, cool_off):
    """A pair locked out in the cache is locked here as well, for the same cool-off: if the
    cache fails during the lockout the guesses it then refuses are refused here too, instead
    of starting again at nought."""
    until = timezone.now() + cool_off
    for key in keys:
        SignInAttemptCount.objects.update_or_create(
            key=key, defaults={"username": username, "ip_address": ip_address, "attempts": limit, "expires_at": until}
        )


def attempts_counted(keys) -> int:
    """The highest count among `keys` still within its cool-off (0 if none)."""
    counted = SignInAttemptCount.objects.filter(key__in=keys, expires_at__gt=timezone.now())
    return counted.aggregate(most=Max("attempts"))["most"] or 0


def attempts_reset(keys) -> int:
    """A successful sign-in resets the pair (AXES_RESET_ON_SUCCESS)."""
    deleted, _ = SignInAttemptCount.objects.filter(key__in=keys).delete()
    return deleted


def email_as_counted(username):
    """An email as the lockout counts it (security.lockout.lockout_username): case and
    surrounding spaces ignored. None stays None."""
    return username.strip().lower() if isinstance(username, str) else username


def attempts_clear(*, ip_address=None, username=None, ip_or_username=False) -> int:
    """axes_reset and its _ip / _username forms: the pairs of that address or that email
    (either, with `ip_or_username`), or all of them when neither is given."""
    username = email_as_counted(username)
    rows = SignInAttemptCount.objects.all()
    if ip_or_username:
        rows = rows.filter(Q(ip_address=ip_address) | Q(username=username))
    else:
        if ip_address:
            rows = rows.filter(ip_address=ip_address)
        if username:
            rows = rows.filter(username=username)
    deleted, _ = rows.delete()
    logger.info("lockout_database_reset pairs=%s", deleted)
    return deleted
