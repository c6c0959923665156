"""Which parser re-reads a stored payload of each source (quarantine replay)."""

from __future__ import annotations

from orderhub.channels import (
    amazon,
    bigcommerce,
    csv_import,
    cxml,
    ebay,
    etsy,
    magento,
    native,
    shopify,
    tiktok,
    walmart,
    woocommerce,
)
from orderhub.channels.edi_x12 import stored as edi_stored
from orderhub.services.ingest import PayloadParser

PAYLOAD_PARSERS: dict[str, PayloadParser] = {
    native.SOURCE: native.parse,
    shopify.SOURCE: shopify.parse,
    woocommerce.SOURCE: woocommerce.parse,
    bigcommerce.SOURCE: bigcommerce.parse,
    magento.SOURCE: magento.parse,
    csv_import.SOURCE: csv_import.parse,
    edi_stored.SOURCE: edi_stored.parse_stored,
    cxml.SOURCE: cxml.parse_stored,
    amazon.SOURCE: amazon.parse,
    ebay.SOURCE: ebay.parse,
    walmart.SOURCE: walmart.parse,
    etsy.SOURCE: etsy.parse,
    tiktok.SOURCE: tiktok.parse,
}
