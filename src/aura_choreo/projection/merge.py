"""Full merge (SPEC §3.3): how a role that does not decide a choice follows it.

Equal branch projections need nothing. Otherwise every branch must start with a receive from the same
sender; branches merge label-wise into one `offer`, and branches with equal labels must have mergeable
continuations. `split_heads` and `assemble` are that one level, shared with the merge on unfolded
behaviour (`projection.unfold`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aura_choreo.projection.local_types import Branch, LocalSeq, Offer, Payload, Recv


@dataclass(frozen=True)
class Heads:
    """Projections that each start with a receive (or an offer) from `sender`, split by label."""

    sender: str
    receives: Mapping[str, Recv]
    """The first receive written for each label (kept as written: its annotations, its span)."""
    payloads: Mapping[str, Payload]
    continuations: Mapping[str, tuple[LocalSeq, ...]]
    """Per label, what each projection does after receiving it (in projection order)."""
    choice: str


def split_heads(projections: Sequence[LocalSeq], choice: str = "") -> Heads | None:
    """`projections` split by the label each starts with; None unless all start by receiving from one
    sender, with one payload per label."""
    sender: str | None = None
    receives: dict[str, Recv] = {}
    payloads: dict[str, Payload] = {}
    continuations: dict[str, list[LocalSeq]] = {}
    for projection in projections:
        if not projection:
            return None
        head, rest = projection[0], projection[1:]
        if isinstance(head, Recv):
            items = [(head.label, head.payload, rest)]
            receives.setdefault(head.label, head)
            source = head.from_
        elif isinstance(head, Offer):
            items = [(b.label, b.payload, b.body + rest) for b in head.branches]
            source = head.from_
            choice = choice or head.choice
        else:
            return None
        if sender is not None and sender != source:
            return None
        sender = source
        for label, payload, body in items:
            if payloads.setdefault(label, payload) != payload:
                return None
            continuations.setdefault(label, []).append(body)
    if sender is None:
        return None
    return Heads(sender, receives, payloads, {k: tuple(v) for k, v in continuations.items()}, choice)


def assemble(heads: Heads, bodies: Mapping[str, LocalSeq]) -> LocalSeq:
    """The receive (one label) or offer (several) that continues with `bodies[label]` per label."""
    branches = [Branch(label, bodies[label], payload=heads.payloads[label]) for label in heads.continuations]
    if len(branches) == 1:
        only = branches[0]
        return (heads.receives.get(only.label) or Recv(heads.sender, only.label, only.payload), *only.body)
    return (Offer(heads.sender, tuple(branches), heads.choice),)


def merge(projections: Sequence[LocalSeq], choice: str = "") -> LocalSeq | None:
    """The merge of a role's branch projections, or None when the role cannot tell the branches apart."""
    first = projections[0]
    if all(p == first for p in projections[1:]):
        return first
    heads = split_heads(projections, choice)
    if heads is None:
        return None
    bodies: dict[str, LocalSeq] = {}
    for label, group in heads.continuations.items():
        merged = merge(group, heads.choice) if len(group) > 1 else group[0]
        if merged is None:
            return None
        bodies[label] = merged
    return assemble(heads, bodies)
