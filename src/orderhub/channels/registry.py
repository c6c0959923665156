"""Which parser re-reads a stored payload of each source (quarantine replay)."""

from __future__ import annotations

from orderhub.channels import native
from orderhub.services.ingest import PayloadParser

PAYLOAD_PARSERS: dict[str, PayloadParser] = {
    native.SOURCE: native.parse,
}
