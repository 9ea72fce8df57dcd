"""The least flow cost a role's sends charge to each peer on every run of a session (SPEC §4.4, §5.3).

`budgets.role_budget` bounds a session from above: what a role may spend on its worst path (E104
when that is over a limit). Refusing a session before it starts needs the other bound: what the role
must attempt whatever path the run takes, where a denial cannot be handled. So:
- a choice (`choose`, `offer`, `if`) costs its cheapest branch: a behaviour may pick it;
- a counted loop with a literal count costs count times its body; any other count costs nothing here;
- `rec` (decided, custom and open loops, recursion) costs its body up to the first place it may
  leave or continue: a run may leave after one pass (and a later `continue` is never cheaper than 0);
- `par` costs all its branches; a `timeout` block the cheaper of its body and its alternative (a
  waiter may leave the body early);
- a saga (`try`) costs nothing: a denial inside it is handled by the protocol (SPEC §4.6), so it
  cannot make the session certain to fail.
A send's cost is the caller's `cost_of` (the guard chain's profile for it, which a policy may change).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from aura_choreo.projection.local_types import (
    Choose,
    Continue,
    If,
    LocalSeq,
    LocalType,
    Loop,
    Offer,
    Par,
    Rec,
    Send,
    Timeout,
    Try,
)
from aura_choreo.semantics.expressions import int_value as literal_int

Floor = dict[str, int]
"""peer role -> least flow cost; a peer not listed costs 0."""

CostOf = Callable[[Send], int]


def least_flow(local_type: LocalType, cost_of: CostOf) -> Floor:
    """Per peer, the flow cost `local_type`'s role charges, outside sagas, on every run that goes on
    (a run may fail earlier for another reason; one that does not attempts at least this much)."""
    return {peer: cost for peer, cost in sorted(_seq(local_type.steps, cost_of).items()) if cost}


def _seq(seq: LocalSeq, cost_of: CostOf) -> Floor:
    total: Floor = {}
    for step in seq:
        if isinstance(step, Continue):
            break  # nothing after a `continue` in the same sequence runs
        for peer, cost in _step(step, cost_of).items():
            total[peer] = total.get(peer, 0) + cost
    return total


def _cheapest(floors: Iterable[Mapping[str, int]]) -> Floor:
    """The pointwise minimum: a peer some alternative does not charge costs 0."""
    options = list(floors)
    if not options:
        return {}
    peers = set(options[0]).intersection(*options[1:])
    return {peer: min(option[peer] for option in options) for peer in peers}


def _step(step: object, cost_of: CostOf) -> Floor:
    if isinstance(step, Send):
        return {step.to: cost_of(step)}
    if isinstance(step, Choose | Offer | If):
        return _cheapest(_seq(b.body, cost_of) for b in step.branches)
    if isinstance(step, Loop):
        count = literal_int(step.count)
        if count is None or count <= 0:
            return {}
        return {peer: cost * count for peer, cost in _seq(step.body, cost_of).items()}
    if isinstance(step, Rec):
        return _seq(step.body, cost_of)
    if isinstance(step, Par):
        total: Floor = {}
        for branch in step.branches:
            for peer, cost in _seq(branch, cost_of).items():
                total[peer] = total.get(peer, 0) + cost
        return total
    if isinstance(step, Timeout):
        return _cheapest((_seq(step.body, cost_of), _seq(step.alt, cost_of)))
    if isinstance(step, Try):
        return {}
    return {}  # receives, quorums, local actions: no flow charged
