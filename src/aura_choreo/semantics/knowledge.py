"""Knowledge analysis (SPEC §3.6): who knows which variable, and who decides each `match`/`if`.

A role knows a variable once it has sent or received a payload field of that name, or bound it with
`let`; protocol parameters and loop indices are known to all. A conditional whose variables every
involved role knows stays a shared `Conditional`; otherwise it becomes a `Choice` by the role that acts
first in every non-empty branch (E032 when there is no such single role).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from aura_choreo.diagnostics import Diagnostic, did_you_mean, error, info
from aura_choreo.semantics import core
from aura_choreo.semantics.actors import first_actors, involved_roles, rec_bodies
from aura_choreo.semantics.expressions import expr_text, variables
from aura_choreo.syntax.ast import Call, Expr
from aura_choreo.syntax.walk import expr_children

Knowledge = Mapping[str, frozenset[str]]


def protocol_variables(seq: core.CoreSeq) -> frozenset[str]:
    """Every variable the protocol itself defines: payload field names and `let` names."""
    found: set[str] = set()
    for stmt in core.walk(seq):
        if isinstance(stmt, core.Message):
            found.update(p.name for p in stmt.payload if p.name)
        elif isinstance(stmt, core.Let):
            found.add(stmt.name)
    return frozenset(found)


def read_variables(seq: core.CoreSeq) -> frozenset[str]:
    """Every variable read by a guard, a `match`/`if` expression or a `let`."""
    found: set[str] = set()
    for stmt in core.walk(seq):
        if isinstance(stmt, core.Choice | core.Conditional):
            if stmt.expr is not None:
                found |= variables(stmt.expr)
            for branch in stmt.branches:
                if branch.guard is not None:
                    found |= variables(branch.guard)
        elif isinstance(stmt, core.Let):
            found |= variables(stmt.expr)
        elif isinstance(stmt, core.CountedLoop):
            found |= variables(stmt.count)
    return frozenset(found)


class KnowledgeAnalysis:
    """One pass over a core body, in execution order, rewriting conditionals and lets."""

    def __init__(
        self,
        roles: tuple[str, ...],
        common: frozenset[str],
        body: core.CoreSeq,
        diagnostics: list[Diagnostic],
    ):
        self.roles = roles
        self.common = common
        self.recs = rec_bodies(body)
        self.defined = protocol_variables(body)
        self.diagnostics = diagnostics
        # Only variables some expression reads need tracking; this keeps knowledge sets small (and the
        # pass linear) in long protocols whose payload names are never read.
        self.read = read_variables(body)
        self.lost_at_timeout: dict[str, int] = {}
        """Variables some role learns in a timeout body but not in its alternative: line of the timeout."""
        self.sent_at: dict[str, core.Message] = {}
        """The first message carrying each read variable (named in E032 for a loop count)."""

    def run(self, body: core.CoreSeq) -> core.CoreSeq:
        start: dict[str, frozenset[str]] = {r: frozenset() for r in self.roles}
        result, _ = self.seq(body, start, self.common)
        return result

    def seq(
        self, seq: core.CoreSeq, known: Knowledge, common: frozenset[str]
    ) -> tuple[core.CoreSeq, Knowledge]:
        out: list[core.CoreStmt] = []
        for stmt in seq:
            rewritten, known = self.stmt(stmt, known, common)
            out.extend(rewritten)
        return tuple(out), known

    def stmt(
        self, stmt: core.CoreStmt, known: Knowledge, common: frozenset[str]
    ) -> tuple[list[core.CoreStmt], Knowledge]:
        if isinstance(stmt, core.Message):
            names = frozenset(p.name for p in stmt.payload if p.name) & self.read
            for name in names:
                self.sent_at.setdefault(name, stmt)
            return [stmt], _learn(known, (stmt.sender, stmt.receiver), names)
        if isinstance(stmt, core.Let):
            needed = (variables(stmt.expr) & self.defined) - common
            roles = tuple(r for r in self.roles if needed <= known.get(r, frozenset()))
            return [replace(stmt, roles=roles)], _learn(known, roles, frozenset((stmt.name,)))
        if isinstance(stmt, core.Choice):
            self._check_guards(stmt, known, common)
            return self._branching(stmt, known, common)
        if isinstance(stmt, core.Conditional):
            return self._conditional(stmt, known, common)
        if isinstance(stmt, core.CountedLoop):
            self._check_count(stmt, known, common)
            inner_common = common | {stmt.var} if stmt.var else common
            body, after = self.seq(stmt.body, known, inner_common)
            return [replace(stmt, body=body)], after
        if isinstance(stmt, core.Rec):
            body, after = self.seq(stmt.body, known, common)
            return [replace(stmt, body=body)], after
        if isinstance(stmt, core.Parallel):
            results = [self.seq(b, known, common) for b in stmt.branches]
            return [replace(stmt, branches=tuple(b for b, _ in results))], _union(
                [k for _, k in results], known
            )
        if isinstance(stmt, core.Quorum):
            for m in stmt.messages:
                names = frozenset(p.name for p in m.payload if p.name) & self.read
                known = _learn(known, (m.sender, m.receiver), names)
            return [stmt], known
        if isinstance(stmt, core.Timeout):
            body, k1 = self.seq(stmt.body, known, common)
            alt, k2 = self.seq(stmt.alt, known, common)
            for r, names in k1.items():
                for name in names - k2.get(r, frozenset()):
                    self.lost_at_timeout.setdefault(name, stmt.span.line)
            return [replace(stmt, body=body, alt=alt)], _intersect([k1, k2])
        if isinstance(stmt, core.Try):
            body, k1 = self.seq(stmt.body, known, common)
            comp, k2 = self.seq(stmt.comp, known, common)
            return [replace(stmt, body=body, comp=comp)], _intersect([k1, k2])
        return [stmt], known

    def _branching(
        self, stmt: core.Choice | core.Conditional, known: Knowledge, common: frozenset[str]
    ) -> tuple[list[core.CoreStmt], Knowledge]:
        results = [self.seq(b.body, known, common) for b in stmt.branches]
        branches = tuple(replace(b, body=body) for b, (body, _) in zip(stmt.branches, results, strict=True))
        return [replace(stmt, branches=branches)], _intersect([k for _, k in results]) if results else known

    def _check_guards(self, choice: core.Choice, known: Knowledge, common: frozenset[str]) -> None:
        knows = known.get(choice.decider, frozenset()) | common
        for branch in choice.branches:
            if branch.guard is None:
                continue
            for name in sorted(variables(branch.guard) - self.defined - common):
                near = did_you_mean(name, self.defined | common)
                if near:  # a typo of a payload field would otherwise silently become a behaviour input
                    self.diagnostics.append(
                        info(
                            "I002",
                            branch.guard.span,
                            f"`{name}` in the guard of branch `{branch.label}` is no payload field, binding"
                            f" or parameter: the behaviour of `{choice.decider}` must supply it",
                            near,
                        )
                    )
            missing = sorted((variables(branch.guard) & self.defined) - knows)
            if missing:
                self.diagnostics.append(
                    error(
                        "E032",
                        branch.guard.span,
                        f"the guard of branch `{branch.label}` reads `{missing[0]}`, which the decider "
                        f"`{choice.decider}` does not know at this point",
                        self._lost_hint(missing)
                        or f"send `{missing[0]}` to `{choice.decider}` before the choice, "
                        "or let the role that knows it decide",
                    )
                )

    def _check_count(self, loop: core.CountedLoop, known: Knowledge, common: frozenset[str]) -> None:
        """Every role of a counted loop runs it as often as the count says: each must know it (E032)."""
        needed = (variables(loop.count) & self.defined) - common
        if not needed:
            return
        for role in sorted(involved_roles(loop.body, self.recs)):
            missing = sorted(needed - known.get(role, frozenset()))
            if not missing:
                continue
            name = missing[0]
            holders = sorted(r for r in self.roles if name in known.get(r, frozenset()))
            carrier = self.sent_at.get(name)
            where = (
                f"; `{name}` travels in `{carrier.label}` at line {carrier.span.line}"
                f" ({carrier.sender} -> {carrier.receiver})"
                if carrier is not None
                else ""
            )
            source = holders[0] if holders else (carrier.sender if carrier is not None else "Sender")
            types = [str(p.type) for p in carrier.payload if p.name == name and p.type] if carrier else []
            self.diagnostics.append(
                error(
                    "E032",
                    loop.count.span if loop.count.span.line else loop.span,
                    f"the count of this loop reads `{name}`, which `{role}` (a role of the loop) does not "
                    f"know at this point{where}",
                    self._lost_hint(missing)
                    or f"send `{name}` to `{role}` before the loop, e.g. `{source} -> {role}: "
                    f"{_capitalised(name)}({name}: {types[0] if types else '...'})`",
                )
            )

    def _lost_hint(self, names: list[str]) -> str:
        """The hint for a variable unknown only because a timeout may have fired before it arrived."""
        for name in names:
            if name in self.lost_at_timeout:
                return _lost_hint_text(name, self.lost_at_timeout[name])
        return ""

    def _conditional(
        self, stmt: core.Conditional, known: Knowledge, common: frozenset[str]
    ) -> tuple[list[core.CoreStmt], Knowledge]:
        involved = set()
        for branch in stmt.branches:
            involved |= involved_roles(branch.body, self.recs)
        if not involved:
            return [], known
        needed = variables(stmt.expr) - common
        # A condition reading the journal (`journal_facts(...)`, SPEC §5.8) is never shared knowledge:
        # each device reads its own journal, so one role decides and tells the others.
        local = _reads_journal(stmt.expr)
        if not local and all(needed <= known.get(r, frozenset()) for r in involved):
            return self._branching(replace(stmt, shared=True), known, common)
        firsts = [first_actors(b.body, self.recs) for b in stmt.branches]
        candidates = {frozenset(f) for f in firsts if f}
        if len(candidates) == 1 and len(next(iter(candidates))) == 1:
            decider = next(iter(next(iter(candidates))))
            choice = core.Choice(
                decider,
                tuple(replace(b, pattern=b.pattern) for b in stmt.branches),
                stmt.name,
                stmt.expr,
                construct=stmt.construct,
                span=stmt.span,
            )
            return self._branching(choice, known, common)
        unknown = sorted(r for r in involved if not needed <= known.get(r, frozenset()))
        acting = sorted({r for f in firsts for r in f})
        self.diagnostics.append(
            error(
                "E032",
                stmt.span,
                f"no role can decide `{expr_text(stmt.expr)}`: "
                f"{', '.join(f'`{r}`' for r in unknown)} {'does' if len(unknown) == 1 else 'do'} "
                "not know it, "
                "and the branches do not all "
                f"start with the same role (first to act: {', '.join(acting) or 'nobody'})",
                self._lost_hint(sorted(needed))
                or "send the value to every role involved before this point, "
                "or start every branch with a message from the role that decides",
            )
        )
        return self._branching(stmt, known, common)


def _reads_journal(expr: Expr) -> bool:
    stack = [expr]
    while stack:
        current = stack.pop()
        if isinstance(current, Call) and current.func == "journal_facts":
            return True
        stack.extend(expr_children(current))
    return False


def _capitalised(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_")) or "Value"


def _lost_hint_text(name: str, line: int) -> str:
    return (
        f"`{name}` is learned inside the timeout at line {line}, so it is unknown when the deadline"
        " fired: decide inside the timeout body, or send it again after the timeout"
    )


def _learn(known: Knowledge, roles: tuple[str, ...], names: frozenset[str]) -> Knowledge:
    if not names:
        return known
    updated = dict(known)
    for r in roles:
        updated[r] = updated.get(r, frozenset()) | names
    return updated


def _intersect(all_known: list[Knowledge]) -> Knowledge:
    if not all_known:
        return {}
    roles = set().union(*(k.keys() for k in all_known))
    return {r: frozenset.intersection(*(k.get(r, frozenset()) for k in all_known)) for r in roles}


def _union(all_known: list[Knowledge], before: Knowledge) -> Knowledge:
    merged = dict(before)
    for k in all_known:
        for r, names in k.items():
            merged[r] = merged.get(r, frozenset()) | names
    return merged
