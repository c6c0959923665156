"""Outbound HTTP: every call OrderHub makes to the outside goes through ``ssrf.guarded_client``."""
