"""Typed spec errors whose messages name the JSON path of each bad field."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError


class SpecError(ValueError):
    """A job spec failed validation; ``errors`` lists ``{"loc": "beam.npart", "msg": ...}``."""

    def __init__(self, errors: list[dict[str, str]]):
        self.errors = errors
        super().__init__("; ".join(f"{e['loc']}: {e['msg']}" for e in errors))


def json_path(loc: tuple[Any, ...]) -> str:
    """('lattice', 'elements', 3, 'Quad', 'k') -> 'lattice.elements[3].k' (drops union tags)."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i > 0 and isinstance(loc[i - 1], int) and isinstance(part, str) and part[:1].isupper():
            continue  # discriminated-union tag, e.g. 'Quad'
        elif isinstance(part, str) and part in {"Distribution"}:
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def errors_from(exc: ValidationError) -> list[dict[str, str]]:
    """Flatten a pydantic ValidationError into [{"loc": json path, "msg": reason}]."""
    out = []
    for e in exc.errors(include_url=False):
        loc = tuple(e["loc"])
        # strip discriminator tags like ('beam', 'distribution', 'Waterbag', 'lambdaX')
        cleaned = []
        for i, p in enumerate(loc):
            if isinstance(p, str) and p[:1].isupper() and i > 0 and loc[i - 1] in ("distribution",):
                continue
            cleaned.append(p)
        msg = e["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append({"loc": json_path(tuple(cleaned)), "msg": msg})
    return out


def parse_model(model: type[BaseModel], data: Any) -> Any:
    """Validate ``data`` (dict or JSON text) as ``model``; raise SpecError naming each bad field."""
    try:
        if isinstance(data, (str, bytes)):
            return model.model_validate_json(data)
        return model.model_validate(data)
    except ValidationError as exc:
        raise SpecError(errors_from(exc)) from None
    except json.JSONDecodeError as exc:  # pragma: no cover - pydantic wraps these
        raise SpecError([{"loc": "(root)", "msg": f"invalid JSON: {exc}"}]) from None
