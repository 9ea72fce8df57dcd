"""Full merge (SPEC §3.3): how a role that does not decide a choice follows it.

Equal branch projections need nothing. Otherwise every branch must start with a receive from the same
sender; branches merge label-wise into one `offer`, and branches with equal labels must have mergeable
continuations.
"""

from __future__ import annotations

from collections.abc import Sequence

from aura_choreo.projection.local_types import Branch, LocalSeq, LocalStep, Offer, Payload, Recv


def merge(projections: Sequence[LocalSeq], choice: str = "") -> LocalSeq | None:
    """The merge of a role's branch projections, or None when the role cannot tell the branches apart."""
    first = projections[0]
    if all(p == first for p in projections[1:]):
        return first
    sender: str | None = None
    heads: dict[str, LocalStep] = {}
    groups: dict[str, list[tuple[Payload, LocalSeq]]] = {}
    for projection in projections:
        if not projection:
            return None
        head, rest = projection[0], projection[1:]
        if isinstance(head, Recv):
            items = [(head.label, head.payload, rest)]
            heads.setdefault(head.label, head)
            source = head.from_
        elif isinstance(head, Offer):
            items = [(b.label, b.payload, b.body + rest) for b in head.branches]
            source = head.from_
            choice = choice or head.choice
        else:
            return None
        if sender is None:
            sender = source
        elif sender != source:
            return None
        for label, payload, body in items:
            groups.setdefault(label, []).append((payload, body))
    assert sender is not None
    branches: list[Branch] = []
    for label, group in groups.items():
        payload = group[0][0]
        if any(p != payload for p, _ in group[1:]):
            return None
        merged = merge([b for _, b in group], choice) if len(group) > 1 else group[0][1]
        if merged is None:
            return None
        branches.append(Branch(label, merged, payload=payload))
    if len(branches) == 1:
        only = branches[0]
        head = heads.get(only.label) or Recv(sender, only.label, only.payload)
        return (head, *only.body)
    return (Offer(sender, tuple(branches), choice),)
