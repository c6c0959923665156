"""``Amount`` validates in one Python call what ``BeforeValidator`` + ``Field(ge=, le=)`` did
in three: the same values, the same errors (type, message, context, input), the same schema."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError

from orderhub.api.schemas.bounded import Amount, _decimal_not_float
from orderhub.domain.limits import MAX_AMOUNT

# Amount as it was written before the combined validator: the reference.
_Reference = Annotated[
    Decimal,
    BeforeValidator(_decimal_not_float),
    Field(ge=0, le=MAX_AMOUNT, json_schema_extra={"type": "string", "examples": ["12.50"]}),
]


class _New(BaseModel):
    amount: Amount
    default: Amount = Decimal(0)


class _Old(BaseModel):
    amount: _Reference
    default: _Reference = Decimal(0)


def _outcome(model: type[BaseModel], value: Any) -> tuple[str, Any]:
    try:
        validated = model.model_validate({"amount": value})
    except ValidationError as error:
        return "errors", [
            (e["type"], e["loc"], e["msg"], repr(e.get("input")), repr(e.get("ctx")))
            for e in error.errors(include_url=False)
        ]
    # repr keeps the exponent (12.5 vs 12.50) and the sign of a zero
    return "value", (repr(validated.amount), repr(validated.default))


_texts = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(min_value=-10, max_value=MAX_AMOUNT * 2, places=4).map(str),
    st.sampled_from(
        [
            "12.50",
            " 7.10 ",
            "-0",
            "0E-7",
            "1e9",
            "1E+9",
            "1000000000.01",
            "1e30",
            "",
            "x",
            "NaN",
            "-Infinity",
            "1_000",
            "٣",
        ]
    ),
    st.text(max_size=8),
)
_values = st.one_of(
    _texts,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.lists(st.integers(), max_size=2),
)


@given(_values)
def test_amount_accepts_and_refuses_as_the_three_validators_did(value: Any) -> None:
    assert _outcome(_New, value) == _outcome(_Old, value)


def test_amount_bounds_answer_as_before() -> None:
    for value in ("-0.01", "1000000000.01", 10**12, "12.50", "1000000000"):
        assert _outcome(_New, value) == _outcome(_Old, value)
    kind, errors = _outcome(_New, "-1")
    assert kind == "errors"
    assert errors[0][:3] == (
        "greater_than_equal",
        ("amount",),
        "Input should be greater than or equal to 0",
    )


def test_amount_json_schema_is_unchanged() -> None:
    assert TypeAdapter(Amount).json_schema() == TypeAdapter(_Reference).json_schema()
    assert _New.model_json_schema()["properties"] == _Old.model_json_schema()["properties"]
