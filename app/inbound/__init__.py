"""Inbound calls from outside systems: HMAC-signed webhooks that start Tasks (`webhooks.py`). The
outbound side (alert webhooks Procly sends) is app.notifications.outbound_webhook."""
from app.inbound import webhooks


def init_app(app) -> None:
    webhooks.init_app(app)
