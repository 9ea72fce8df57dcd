"""Guards that read the journal: `when (len(journal_facts("approved")) > 0)` (SPEC §5.8).

A guard or `if` condition may call `journal_facts("name")` to depend on facts an earlier phase or
session committed. Expressions are evaluated synchronously (by the behaviour deciding and by the
monitor checking the choice), while reading the journal is a role effect that goes down the handler
stack. So before a role decides a choice whose guards read facts, the endpoint performs the
`journal_facts` effect for each name the guards mention and leaves the answer in the role's
environment under a key no protocol variable can spell (`@journal_facts:<name>`); the evaluator reads
it from there. A guard evaluated without that (outside a role) is an `ExpressionError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aura_choreo.journal.facts import Fact
from aura_choreo.projection.local_types import Choose
from aura_choreo.syntax.ast import Call, Expr, Literal
from aura_choreo.syntax.walk import expr_children

FUNCTION = "journal_facts"
KEY_PREFIX = "@journal_facts:"


def facts_key(name: str) -> str:
    """The environment key holding the facts named `name` (not an identifier: no variable collides)."""
    return KEY_PREFIX + name


def fact_names(exprs: Iterable[Expr | None]) -> tuple[str, ...]:
    """The fact names `journal_facts("...")` calls in `exprs` read, in first-use order."""
    found: dict[str, None] = {}
    stack = [e for e in exprs if e is not None]
    while stack:
        expr = stack.pop()
        if isinstance(expr, Call) and expr.func == FUNCTION:
            for arg in expr.args:
                if isinstance(arg, Literal) and isinstance(arg.value, str):
                    found.setdefault(arg.value, None)
        stack.extend(expr_children(expr))
    return tuple(found)


def choice_fact_names(step: Choose) -> tuple[str, ...]:
    """The fact names the guards and expression of choice `step` read."""
    return fact_names([step.expr, *(branch.guard for branch in step.branches)])


def fact_view(fact: Fact) -> Mapping[str, object]:
    """A fact as guards see it: a mapping (`f.data.ticket`, `f.session`), read-only data."""
    return {
        "name": fact.name,
        "device": fact.id.device,
        "protocol": fact.protocol,
        "session": fact.session,
        "role": fact.role,
        "label": fact.label,
        "data": dict(fact.data),
    }
