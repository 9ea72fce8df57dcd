"""Counterexample traces: steps of a run of the product, as text and as a Mermaid sequence diagram."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TraceStep:
    """One step of a global run: `role` sends/receives `label` to/from `peer`, or an internal step.

    kind is `send`, `recv`, `tau` (internal choice, timeout), `coin` (a shared decision: `label` is the
    outcome, `peer` holds the coin key) or `discard` (a late message dropped by the run time).
    """

    role: str
    kind: str
    peer: str = ""
    label: str = ""

    def text(self) -> str:
        if self.kind == "send":
            return f"{self.role} sends {self.label} to {self.peer}"
        if self.kind == "recv":
            return f"{self.role} receives {self.label} from {self.peer}"
        if self.kind == "discard":
            return f"{self.role} discards late {self.label} from {self.peer}"
        if self.kind == "coin":
            return f"{self.role} decides `{self.peer}` = {self.label}"
        return f"{self.role} takes {self.label or 'an internal step'}"

    def to_json(self) -> dict[str, str]:
        return {"role": self.role, "kind": self.kind, "peer": self.peer, "label": self.label}


def _mermaid_id(role: str) -> str:
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in role)


def sequence_diagram(roles: Sequence[str], steps: Sequence[TraceStep], outcome: str = "") -> str:
    """A Mermaid sequence diagram: an async arrow per send, notes for internal steps and the outcome."""
    lines = ["sequenceDiagram"]
    for role in roles:
        lines.append(f"    participant {_mermaid_id(role)} as {role}")
    for step in steps:
        me = _mermaid_id(step.role)
        if step.kind == "send":
            lines.append(f"    {me}-){_mermaid_id(step.peer)}: {step.label}")
        elif step.kind == "recv":
            lines.append(f"    Note right of {me}: receives {step.label} from {step.peer}")
        elif step.kind == "discard":
            lines.append(f"    Note right of {me}: discards late {step.label} from {step.peer}")
        elif step.kind == "coin":
            lines.append(f"    Note right of {me}: {_note(step.peer)} = {step.label}")
        else:
            lines.append(f"    Note right of {me}: {_note(step.label or 'internal step')}")
    if outcome and roles:
        first, last = _mermaid_id(roles[0]), _mermaid_id(roles[-1])
        span = first if first == last else f"{first},{last}"
        lines.append(f"    Note over {span}: {_note(outcome)}")
    return "\n".join(lines) + "\n"


def _note(text: str) -> str:
    # `;` and `#` end or escape Mermaid statements; keep notes on one safe line.
    return text.replace(";", ",").replace("#", "no.").replace("\n", " ")
