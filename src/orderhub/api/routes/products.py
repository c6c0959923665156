"""Products: the master catalogue every channel SKU maps to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import select

from orderhub.api.deps import ContainerDep, require
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission
from orderhub.domain.catalog import Product, validate_identifiers
from orderhub.domain.errors import NotFound
from orderhub.store.access import Principal
from orderhub.store.queries import keyset_page
from orderhub.store.tables import products

router = APIRouter(prefix="/products", tags=["products"])

Reader = Annotated[Principal, Depends(require(Permission.CATALOG_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CATALOG_WRITE))]


class Identifiers(BaseModel):
    """A product's barcodes and part number; check digits are verified (GS1 for GTIN-8/12/13/14,
    UPC-A, EAN-13 and ISBN-13, mod 11 for ISBN-10) and each must be unique to the product."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    gtin: str | None = Field(default=None, max_length=20, examples=["00036000291452"])
    upc: str | None = Field(default=None, max_length=20, examples=["036000291452"])
    ean: str | None = Field(default=None, max_length=20, examples=["4006381333931"])
    isbn: str | None = Field(default=None, max_length=20, examples=["978-0-306-40615-7"])
    mpn: str | None = Field(default=None, max_length=70, examples=["WX-2210-B"])

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=128, pattern=r"^\S+$")
    name: str = Field(min_length=1, max_length=300)
    weight_grams: Annotated[StrictInt, Field(ge=0, le=10_000_000)] = 0
    attributes: dict[str, Any] = Field(
        default_factory=dict, examples=[{"hazmat": True, "restricted_regions": ["US-CA"]}]
    )
    identifiers: Identifiers = Field(default_factory=Identifiers)


class ProductOut(ProductIn):
    @classmethod
    def of(cls, product: Product) -> ProductOut:
        return cls(
            sku=product.sku,
            name=product.name,
            weight_grams=product.weight_grams,
            attributes=product.attributes,
            identifiers=Identifiers(**product.identifiers),
        )


@router.post(
    "",
    status_code=201,
    response_model=ProductOut,
    responses={200: {"model": ProductOut, "description": "the product with this SKU, replaced"}},
)
def put_product(
    body: ProductIn, principal: Writer, container: ContainerDep, response: Response
) -> ProductOut:
    """Create a product (201) or replace the one with this SKU (200), identifiers included."""
    identifiers = validate_identifiers(body.identifiers.given())
    product = Product(
        sku=body.sku,
        name=body.name,
        weight_grams=body.weight_grams,
        attributes=body.attributes,
        identifiers=identifiers,
    )
    with container.uow(actor=principal.actor) as uow:
        created = uow.catalog.upsert(product)
        uow.commit()
    response.status_code = 201 if created else 200
    return ProductOut.of(product)


@router.get("", response_model=Page[ProductOut])
def list_products(
    principal: Reader,
    container: ContainerDep,
    sku_prefix: Annotated[str | None, Query(max_length=128)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ProductOut]:
    """Products by SKU (``sku_prefix``: those starting with it)."""
    stmt = select(products)
    if sku_prefix:
        stmt = stmt.where(products.c.sku.startswith(sku_prefix, autoescape=True))
    with container.uow(read_only=True) as uow:
        rows, next_cursor = keyset_page(uow.conn, stmt, products.c.sku, limit=limit, cursor=cursor)
        ids = uow.catalog.identifiers({r.sku for r in rows})
    items = [
        ProductOut.of(
            Product(r.sku, r.name, r.weight_grams, r.attributes or {}, ids.get(r.sku, {}))
        )
        for r in rows
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.get("/{sku}", response_model=ProductOut)
def get_product(sku: str, principal: Reader, container: ContainerDep) -> ProductOut:
    with container.uow(read_only=True) as uow:
        product = uow.catalog.get(sku)
    if product is None:
        raise NotFound(f"product {sku!r} not found")
    return ProductOut.of(product)
