"""Shared Pydantic configuration: strict, finite, no unknown fields."""

from pydantic import BaseModel, ConfigDict


class SpecModel(BaseModel):
    """Base of every spec model: unknown fields, non-finite numbers and bad types are errors."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        validate_assignment=True,
        populate_by_name=True,
        defer_build=True,  # schemas are built on first use: importing the engine stays fast
    )
