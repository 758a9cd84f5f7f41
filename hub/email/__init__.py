"""Email: the SMTP listener and provider webhooks in, threading, replies out through the outbox."""
