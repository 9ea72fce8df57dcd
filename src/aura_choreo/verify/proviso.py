"""The cycle proviso of the partial-order reduction: which machine transitions are "sticky".

A reduced (non-full) ample set may not contain a sticky transition; then, if every cycle of the
product contains a sticky transition, every cycle of the reduced graph contains a fully expanded
state, so no action is ignored forever (the static proviso of Kurshan et al., 1998).

The simplest sticky set is every role's depth-first back edges (every local cycle contains one). It
forces a full expansion at every loop of every role taking part in it, which on issue 19's random
10-role protocol tripled the explored states. A smaller set is sound:

Order the roles. Role B's sticky transitions are the back edges of its machine *without the receives
from roles before it*. Take a cycle of the product, and B the first role (in that order) whose machine
moves on it. B's moves form a closed walk of its machine, so they contain a local cycle. If that
cycle receives from an earlier role A, then A moves on the product cycle too: the channel A -> B holds
the same messages at both ends of the cycle, only A appends to it and B took something from it. That
contradicts the choice of B, so B's local cycle has no such receive, lies in the machine without them,
and contains one of its back edges: a sticky transition.

The order matters (receives from earlier roles are free): roles without any cycle go first (they
never have a sticky transition, wherever they stand), then, greedily, the role with the fewest sticky
transitions given the roles already placed.
"""

from __future__ import annotations

from collections.abc import Sequence

from aura_choreo.verify.fsm import Machine

__all__ = ["sticky_transitions"]

GREEDY_LIMIT = 32
"""Above this many roles with cycles the greedy order (quadratic in them) gives way to role order."""


def sticky_transitions(machines: Sequence[Machine]) -> list[frozenset[int]]:
    """Per role (in `machines`' order), the indices of its transitions that are sticky."""
    placed = frozenset(m.role for m in machines if not m.has_cycle)
    sticky = [frozenset[int]() for _ in machines]
    left = [r for r, m in enumerate(machines) if m.has_cycle]
    greedy = len(left) <= GREEDY_LIMIT
    while left:
        options = [(machines[r].back_edges_without(placed), r) for r in (left if greedy else left[:1])]
        edges, best = min(options, key=lambda option: (len(option[0]), option[1]))
        sticky[best] = edges
        left.remove(best)
        placed |= {machines[best].role}
    return sticky
