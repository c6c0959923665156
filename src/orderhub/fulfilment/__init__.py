"""Fulfilment providers: one module per kind, all implementing :mod:`orderhub.fulfilment.base`."""
