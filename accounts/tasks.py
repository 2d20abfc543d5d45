from celery import shared_task

from .emails import account_email_send


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_account_email(kind, user_id, **details):
    account_email_send(kind, user_id, **details)
