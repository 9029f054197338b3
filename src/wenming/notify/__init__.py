"""Notifications: a per-user inbox, and an outbox delivered to an optional webhook after commit."""
