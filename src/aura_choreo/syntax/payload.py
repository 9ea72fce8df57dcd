"""What a message carries: payload fields and annotation maps.

Vocabulary shared by semantics (which builds them), projection (local types hold them) and every stage
after; it lives here, below all of them, so that no stage imports a later one to name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aura_choreo.syntax.ast import AnnotationValue, TypeExpr


@dataclass(frozen=True)
class PayloadItem:
    """One payload field: a name (None for a bare type) and a type (None when unknown)."""

    name: str | None
    type: TypeExpr | None

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "type": None if self.type is None else str(self.type)}


Payload = tuple[PayloadItem, ...]
AnnotationMap = tuple[tuple[str, AnnotationValue], ...]
"""Annotations as ordered (key, value) pairs; use `annotation_value` to read one."""


def annotation_value(annotations: AnnotationMap, key: str) -> AnnotationValue | None:
    """The value of `key` in an annotation map, or None."""
    for k, v in annotations:
        if k == key:
            return v
    return None
