"""Participants: outsiders acting on one Task through a magic link (`links`: invite, use, revoke).
Their pages are app.portal; what they may see and do, app.permissions.participants."""
