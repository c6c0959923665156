"""Demo data for fulfilment: a simulated 3PL that ships fast, and SLA promises per channel.

Orders allocated to the ``nj`` location go to the simulated 3PL (about one in seven is
rejected as a stock-out and re-routed, leaving an exception to resolve); the worker tick ships
them a minute later and delivers them a few minutes after that.
"""

from __future__ import annotations

from orderhub.bootstrap import Container
from orderhub.store.fulfilment import ProviderConfig

DEMO_PROVIDER = ProviderConfig(
    code="sim-3pl",
    name="Simulated 3PL",
    kind="simulated",
    settings={
        "seed": 7,
        "reject_rate": 0.15,
        "fail_rate": 0.05,
        "ship_after_minutes": 1,
        "deliver_after_hours": 0.05,
    },
    locations=["nj"],
)
DEMO_SLAS = {
    "web": {"ship_within_days": 1, "cutoff": "14:00", "timezone": "Europe/London",
            "deliver_within_days": 3},
    "app": {"ship_within_hours": 8, "business_hours": ["08:00", "18:00"],
            "timezone": "America/New_York"},
}  # fmt: skip


def seed_fulfilment(container: Container) -> None:
    """Call before orders are ingested, so they get their ``ship_by``."""
    with container.uow(actor="demo") as uow:
        uow.fulfilment.add_provider(DEMO_PROVIDER)
        for code, policy in DEMO_SLAS.items():
            channel = uow.channels.get(code)
            channel.sla = policy
            uow.channels.save(channel)
        uow.commit()
