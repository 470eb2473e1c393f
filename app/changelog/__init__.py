"""Change sync: one ordered log of what changed, for polling partners and webhooks."""
