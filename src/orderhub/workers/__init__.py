"""Background workers: the outbox relay (fan-out, claim, deliver, retry)."""
