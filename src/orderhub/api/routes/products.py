"""Products: the master catalogue every channel SKU maps to."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import select

from orderhub.api.deps import ContainerDep, require
from orderhub.api.schemas.pages import Cursor, Limit, Page
from orderhub.domain.access import Permission
from orderhub.domain.catalog import Product
from orderhub.domain.errors import NotFound
from orderhub.store.access import Principal
from orderhub.store.queries import keyset_page
from orderhub.store.tables import products

router = APIRouter(prefix="/products", tags=["products"])

Reader = Annotated[Principal, Depends(require(Permission.CATALOG_READ))]
Writer = Annotated[Principal, Depends(require(Permission.CATALOG_WRITE))]


class ProductIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sku: str = Field(min_length=1, max_length=128, pattern=r"^\S+$")
    name: str = Field(min_length=1, max_length=300)
    weight_grams: Annotated[StrictInt, Field(ge=0, le=10_000_000)] = 0
    attributes: dict[str, Any] = Field(
        default_factory=dict, examples=[{"hazmat": True, "restricted_regions": ["US-CA"]}]
    )


class ProductOut(ProductIn):
    pass


@router.post("", status_code=201, response_model=ProductOut)
def put_product(
    body: ProductIn, principal: Writer, container: ContainerDep, response: Response
) -> ProductOut:
    """Create a product (201) or replace the one with this SKU (200)."""
    with container.uow(actor=principal.actor) as uow:
        created = uow.catalog.upsert(Product(**body.model_dump()))
        uow.commit()
    response.status_code = 201 if created else 200
    return ProductOut(**body.model_dump())


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
    items = [
        ProductOut(
            sku=r.sku, name=r.name, weight_grams=r.weight_grams, attributes=r.attributes or {}
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
    return ProductOut(
        sku=product.sku,
        name=product.name,
        weight_grams=product.weight_grams,
        attributes=product.attributes,
    )
