"""An EDI channel's trading-partner settings, and the per-PO payload kept for quarantine replay.

Channel ``settings["edi"]`` (all optional)::

    {"currency": "USD",                      # when the 850 has no CUR segment
     "id_preference": ["VP", "UP", "BP"],    # which PO1 product id becomes channel_sku
     "our_qualifier": "ZZ", "our_id": "MERCHANT",       # our ISA05/06 on outbound documents
     "partner_qualifier": "ZZ", "partner_id": "BUYER",  # their ISA07/08
     "usage": "P"}                           # ISA15 of outbound documents: P or T
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from orderhub.channels.edi_x12 import parser, reader_850
from orderhub.channels.edi_x12.writer import Partner
from orderhub.domain.channels import Channel
from orderhub.domain.errors import FieldError, ValidationFailed
from orderhub.domain.orders import OrderDraft

SOURCE = "edi_x12"


@dataclass(frozen=True)
class ChannelPartnerSettings:
    currency: str
    id_preference: tuple[str, ...]
    partner: Partner


def channel_partner(channel: Channel) -> ChannelPartnerSettings:
    edi: dict[str, Any] = channel.settings.get("edi", {}) if channel.settings else {}
    return ChannelPartnerSettings(
        currency=str(edi.get("currency", "USD")),
        id_preference=tuple(edi.get("id_preference", reader_850.ID_PREFERENCE)),
        partner=Partner(
            our_qualifier=str(edi.get("our_qualifier", "ZZ")),
            our_id=str(edi.get("our_id", "ORDERHUB")),
            their_qualifier=str(edi.get("partner_qualifier", "ZZ")),
            their_id=str(edi.get("partner_id", channel.code.upper())),
            usage=str(edi.get("usage", "P")),
        ),
    )


def stored_payload(
    *, channel: str, currency: str, id_preference: tuple[str, ...], interchange: str
) -> str:
    return json.dumps(
        {
            "channel": channel,
            "currency": currency,
            "id_preference": list(id_preference),
            "interchange": interchange,
        }
    )


def parse_stored(payload: str) -> OrderDraft:
    """Re-read a quarantined 850 (one transaction set in its own interchange)."""
    data = json.loads(payload)
    interchange = parser.parse_interchange(data["interchange"])
    reads = reader_850.read_purchase_orders(
        interchange,
        channel=data["channel"],
        default_currency=data["currency"],
        id_preference=tuple(data["id_preference"]),
    )
    if len(reads) != 1 or reads[0].draft is None:
        raise ValidationFailed(
            "the stored 850 no longer reads", [FieldError(("payload",), "not one readable 850")]
        )
    return reads[0].draft
