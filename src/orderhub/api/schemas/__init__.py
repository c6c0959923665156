"""Response and request models of the HTTP API (the native order schema lives with its channel)."""
