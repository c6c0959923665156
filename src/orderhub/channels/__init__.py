"""Channel adapters: each turns its channel's own payloads into an ``OrderDraft`` and back."""
