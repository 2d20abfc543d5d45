"""Autopay: renewals paid by RBI e-mandate through Razorpay recurring payments.

models.py   the mandate per server (with its status history), the debit attempt per
            renewal order, token reports kept until their mandate is known
mandates.py registration by a paid order, token status (webhooks, fetch), turning it off
debits.py   run_billing's debit step: the attempt is written before Razorpay is asked,
            a lost answer is looked up, never asked again
outcomes.py what a debit's payment (captured, failed) means for the mandate and the customer
mails.py    the customer's autopay mail, through the outbox
"""
