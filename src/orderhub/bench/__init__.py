"""``orderhub bench``: the hub's throughput against the raw driver's floor, in one run.

``floor`` is the physical limit (the rows an order needs, bare driver); ``http`` drives the
public API like a client; ``report`` runs them all and prints one Markdown table.
"""
