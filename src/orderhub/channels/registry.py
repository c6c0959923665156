"""Which parser re-reads a stored payload of each source (quarantine replay)."""

from __future__ import annotations

from orderhub.channels import amazon, ebay, etsy, native, tiktok, walmart
from orderhub.services.ingest import PayloadParser

PAYLOAD_PARSERS: dict[str, PayloadParser] = {
    native.SOURCE: native.parse,
    amazon.SOURCE: amazon.parse,
    ebay.SOURCE: ebay.parse,
    walmart.SOURCE: walmart.parse,
    etsy.SOURCE: etsy.parse,
    tiktok.SOURCE: tiktok.parse,
}
