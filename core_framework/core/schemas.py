"""`InputSchema` validates request bodies; `OutputSchema` reads model instances for responses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputSchema(BaseModel):
    """A request body. Only its declared fields ever reach a model (no mass assignment)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)


class OutputSchema(BaseModel):
    """A response body, built from model instances or dicts (`from_attributes=True`)."""

    model_config = ConfigDict(from_attributes=True)
