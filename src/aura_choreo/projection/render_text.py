"""The text rendering of local types (SPEC §3.2): one step per line, nested blocks indented."""

from __future__ import annotations

from aura_choreo.projection import local_types as lt
from aura_choreo.semantics.expressions import expr_text
from aura_choreo.syntax.formatter import format_annotation_value, format_type

_INDENT = "  "


def payload_text(payload: lt.Payload) -> str:
    """`(name: Type, Type, name)`, or nothing for an empty payload."""
    if not payload:
        return ""
    items = []
    for item in payload:
        type_text = format_type(item.type) if item.type is not None else None
        if item.name and type_text:
            items.append(f"{item.name}: {type_text}")
        else:
            items.append(item.name or type_text or "_")
    return f"({', '.join(items)})"


def annotations_text(annotations: lt.AnnotationMap) -> str:
    """` [key = value, ...]`, or nothing."""
    if not annotations:
        return ""
    return " [" + ", ".join(f"{k} = {format_annotation_value(v)}" for k, v in annotations) + "]"


def render_text(local_type: lt.LocalType) -> str:
    """A role's local type as text, headed by the role and protocol, ending with `end`."""
    lines = [f"{local_type.role} in {local_type.protocol}:"]
    lines.extend(_seq(local_type.steps, 1))
    lines.append(_INDENT + "end")
    return "\n".join(lines) + "\n"


def _seq(seq: lt.LocalSeq, depth: int) -> list[str]:
    lines: list[str] = []
    for step in seq:
        lines.extend(_step(step, depth))
    return lines


def _branches(branches: tuple[lt.Branch, ...], heads: list[str], depth: int) -> list[str]:
    pad = _INDENT * (depth + 1)
    lines: list[str] = []
    for branch, head in zip(branches, heads, strict=True):
        if branch.body:
            lines.append(f"{pad}{head}:")
            lines.extend(_seq(branch.body, depth + 2))
        else:
            lines.append(f"{pad}{head}: {{}}")
    return lines


def _step(step: lt.LocalStep, depth: int) -> list[str]:
    pad = _INDENT * depth
    if isinstance(step, lt.Send):
        return [
            f"{pad}{step.to} ! {step.label}{payload_text(step.payload)}{annotations_text(step.annotations)}"
        ]
    if isinstance(step, lt.Recv):
        return [f"{pad}{step.from_} ? {step.label}{payload_text(step.payload)}"]
    if isinstance(step, lt.Choose):
        on = ""
        if step.expr is not None and expr_text(step.expr) != step.choice:
            on = f" on {expr_text(step.expr)}"
        heads = [
            b.label + (f" when {expr_text(b.guard)}" if b.guard is not None else "") for b in step.branches
        ]
        return [f"{pad}choose {step.choice}{on} {{", *_branches(step.branches, heads, depth), f"{pad}}}"]
    if isinstance(step, lt.Offer):
        heads = [b.label + payload_text(b.payload) for b in step.branches]
        return [f"{pad}offer {step.from_} {{", *_branches(step.branches, heads, depth), f"{pad}}}"]
    if isinstance(step, lt.If):
        heads = list(step.patterns) if step.patterns else [b.label for b in step.branches]
        return [f"{pad}if {expr_text(step.expr)} {{", *_branches(step.branches, heads, depth), f"{pad}}}"]
    if isinstance(step, lt.Loop):
        index = f", {step.var} from {expr_text(step.start)}" if step.var and step.start is not None else ""
        return [
            f"{pad}loop (count: {expr_text(step.count)}{index}) {{",
            *_seq(step.body, depth + 1),
            f"{pad}}}",
        ]
    if isinstance(step, lt.Rec):
        return [f"{pad}rec {step.label} {{", *_seq(step.body, depth + 1), f"{pad}}}"]
    if isinstance(step, lt.Continue):
        return [f"{pad}continue {step.label}"]
    if isinstance(step, lt.Par):
        lines = [f"{pad}par {{"]
        for position, branch in enumerate(step.branches):
            if position:
                lines.append(f"{pad}}} and {{")
            lines.extend(_seq(branch, depth + 1))
        return [*lines, f"{pad}}}"]
    if isinstance(step, lt.Quorum):
        return [f"{pad}quorum {step.min} of {{", *_seq(step.body, depth + 1), f"{pad}}}"]
    if isinstance(step, lt.Local):
        if step.var is not None and step.expr is not None:
            return [f"{pad}let {step.var} = {expr_text(step.expr)}"]
        return [f"{pad}local {step.action}({', '.join(expr_text(a) for a in step.args)})"]
    if isinstance(step, lt.Timeout):
        role = "" if step.waiter else " (not waiting)"
        return [
            f"{pad}timeout {step.deadline_ms}ms{role} {{",
            *_seq(step.body, depth + 1),
            f"{pad}}} or {{",
            *_seq(step.alt, depth + 1),
            f"{pad}}}",
        ]
    if isinstance(step, lt.Try):
        return [
            f"{pad}try (coordinator: {step.coordinator}) {{",
            *_seq(step.body, depth + 1),
            f"{pad}}} compensate {{",
            *_seq(step.comp, depth + 1),
            f"{pad}}}",
        ]
    return [f"{pad}<{type(step).__name__}>"]
