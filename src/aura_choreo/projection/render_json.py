"""The JSON rendering of local types: the stable machine contract of SPEC §3.2.

`{"protocol", "role", "type": [step, ...]}`; every step has `"op"` (send recv choose offer if loop rec
continue par quorum local timeout try) and the fields that op uses among `to from label payload
annotations branches body count decider var expr alt comp`. Extra fields may be added, never removed.
"""

from __future__ import annotations

from aura_choreo.projection import local_types as lt
from aura_choreo.semantics.expressions import expr_text
from aura_choreo.syntax.ast import AnnotationArgs, AnnotationValue, Ident

JsonValue = object


def annotation_json(value: AnnotationValue) -> JsonValue:
    """An annotation value as JSON: identifiers become strings, lists lists."""
    if isinstance(value, Ident):
        return value.name
    if isinstance(value, AnnotationArgs):
        return {
            "positional": [annotation_json(v) for v in value.positional],
            "named": {k: annotation_json(v) for k, v in value.named},
        }
    if isinstance(value, tuple):
        return [annotation_json(v) for v in value]
    return value


def _annotations(annotations: lt.AnnotationMap) -> dict[str, JsonValue]:
    return {k: annotation_json(v) for k, v in annotations}


def _payload(payload: lt.Payload) -> list[dict[str, object]]:
    return [item.to_json() for item in payload]


def _branches(branches: tuple[lt.Branch, ...], *, with_payload: bool = False) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for b in branches:
        entry: dict[str, object] = {"label": b.label}
        if b.guard is not None:
            entry["guard"] = expr_text(b.guard)
        if with_payload:
            entry["payload"] = _payload(b.payload)
        entry["body"] = seq_json(b.body)
        out.append(entry)
    return out


def _message(op: str, peer_key: str, peer: str, step: lt.Send | lt.Recv) -> dict[str, object]:
    return {
        "op": op,
        peer_key: peer,
        "label": step.label,
        "payload": _payload(step.payload),
        "annotations": _annotations(step.annotations),
    }


def seq_json(seq: lt.LocalSeq) -> list[dict[str, object]]:
    """A sequence of steps as JSON objects."""
    return [step_json(s) for s in seq]


def step_json(step: lt.LocalStep) -> dict[str, object]:  # one case per step kind
    """One step as a JSON object."""
    if isinstance(step, lt.Send):
        return _message("send", "to", step.to, step)
    if isinstance(step, lt.Recv):
        return _message("recv", "from", step.from_, step)
    if isinstance(step, lt.Choose):
        out: dict[str, object] = {"op": "choose", "choice": step.choice, "branches": _branches(step.branches)}
        if step.expr is not None:
            out["expr"] = expr_text(step.expr)
        return out
    if isinstance(step, lt.Offer):
        return {
            "op": "offer",
            "from": step.from_,
            "choice": step.choice,
            "branches": _branches(step.branches, with_payload=True),
        }
    if isinstance(step, lt.If):
        branches = _branches(step.branches)
        for entry, pattern in zip(branches, step.patterns, strict=False):
            entry["pattern"] = pattern
        return {"op": "if", "expr": expr_text(step.expr), "branches": branches}
    if isinstance(step, lt.Loop):
        loop: dict[str, object] = {"op": "loop", "count": expr_text(step.count)}
        if step.var is not None:
            loop["var"] = step.var
            loop["start"] = expr_text(step.start) if step.start is not None else "0"
        loop["body"] = seq_json(step.body)
        return loop
    if isinstance(step, lt.Rec):
        return {"op": "rec", "label": step.label, "body": seq_json(step.body)}
    if isinstance(step, lt.Continue):
        return {"op": "continue", "label": step.label}
    if isinstance(step, lt.Par):
        return {
            "op": "par",
            "branches": [{"label": str(i), "body": seq_json(b)} for i, b in enumerate(step.branches)],
        }
    if isinstance(step, lt.Quorum):
        return {"op": "quorum", "min": step.min, "body": seq_json(step.body)}
    if isinstance(step, lt.Local):
        if step.var is not None and step.expr is not None:
            return {"op": "local", "label": "let", "var": step.var, "expr": expr_text(step.expr)}
        return {"op": "local", "label": step.action, "args": [expr_text(a) for a in step.args]}
    if isinstance(step, lt.Timeout):
        return {
            "op": "timeout",
            "deadline_ms": step.deadline_ms,
            "waiter": step.waiter,
            "body": seq_json(step.body),
            "alt": seq_json(step.alt),
        }
    if isinstance(step, lt.Try):
        return {
            "op": "try",
            "decider": step.coordinator,
            "coordinator": step.coordinator,
            "participants": list(step.participants),
            "body": seq_json(step.body),
            "comp": seq_json(step.comp),
        }
    raise TypeError(f"not a local-type step: {step!r}")


def to_json(local_type: lt.LocalType) -> dict[str, object]:
    """`{"protocol", "role", "type"}` for one role."""
    return {"protocol": local_type.protocol, "role": local_type.role, "type": seq_json(local_type.steps)}
