"""Notifications: in-app records per user and the email outbox (`operations`: notify, queue_email;
`queries`: who role references name, unread counts, @mentions), alert webhooks
(`outbound_webhook`, through the egress door app.infra.egress), sending (`mail`, in a worker only,
after commit: `outbox`), and discussion threads (`threads`)."""
from app.notifications.operations import kind_label, notify, queue_email
from app.notifications.queries import MENTION, mentioned_users, unread_count, users_for

__all__ = ["kind_label", "notify", "queue_email", "MENTION", "mentioned_users", "unread_count", "users_for"]
