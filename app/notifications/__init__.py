"""The outbox, email and signed webhooks, and the worker that delivers them."""
