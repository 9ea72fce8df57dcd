"""What a state's docstring says about its step (where in the protocol the state is)."""

from __future__ import annotations

from aura_choreo.codegen.messages import MessageTable
from aura_choreo.projection.local_types import (
    Choose,
    If,
    Local,
    LocalStep,
    Loop,
    Offer,
    Par,
    Quorum,
    Recv,
    Send,
    Timeout,
    Try,
)
from aura_choreo.semantics.expressions import expr_text


def describe_step(step: LocalStep, messages: MessageTable, peer: str | None = None) -> str:
    """One line: what the role does in this state; `peer` replaces the peer's name (for a family
    whose instances talk to different peers)."""
    if isinstance(step, Send):
        return f"Send {messages.get(step.label, step.payload).signature()} to {peer or step.to}"
    if isinstance(step, Recv):
        return f"Receive {messages.get(step.label, step.payload).signature()} from {peer or step.from_}"
    if isinstance(step, Choose):
        return f"Choose one of {', '.join(b.label for b in step.branches)}"
    if isinstance(step, Offer):
        return f"Offer: {peer or step.from_} decides with one of {', '.join(b.label for b in step.branches)}"
    if isinstance(step, If):
        return f"Branch on `{expr_text(step.expr)}` ({', '.join(b.label for b in step.branches)})"
    if isinstance(step, Loop):
        return f"Head of a loop of `{expr_text(step.count)}` rounds"
    if isinstance(step, Par):
        return f"Run {len(step.branches)} branches in parallel"
    if isinstance(step, Quorum):
        return f"Receive from {step.min} of {', '.join(r.from_ for r in step.body)}"
    if isinstance(step, Local):
        return f"Local action {step.action}"
    if isinstance(step, Timeout):
        return f"A block with a {step.deadline_ms} ms deadline"
    if isinstance(step, Try):
        return "A saga: a body, and its compensation if it fails"
    return type(step).__name__
