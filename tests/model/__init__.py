"""The stateful model test of the whole hub (docs/testing.md)."""
