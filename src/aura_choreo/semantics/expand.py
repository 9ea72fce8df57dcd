"""Expansion of every piece of DSL sugar into the core language (SPEC §1.6).

Chains, exchanges, broadcasts, multicasts and fan-ins become messages; `match`/`if` become
conditionals (knowledge analysis later decides who evaluates them); every loop form becomes a counted
loop or `rec` + choice with `break` eliminated; barriers become messages; named blocks, `protocol`,
`call` and `compose` are inlined with roles substituted. The message rules and the expansion context
are `semantics/expand_messages.py`'s, sub-protocol inlining `semantics/expand_calls.py`'s.
"""

from __future__ import annotations

from dataclasses import replace

from aura_choreo.diagnostics import Span, did_you_mean, error, warning
from aura_choreo.semantics import core
from aura_choreo.semantics.actors import first_actors, rec_bodies
from aura_choreo.semantics.ast_walk import loop_breaks, mentions_index, protocol_defs
from aura_choreo.semantics.expand_calls import CallExpander
from aura_choreo.semantics.expand_messages import Block, Ctx
from aura_choreo.semantics.expressions import fold, identifier_for, int_value, substitute, variables
from aura_choreo.semantics.loops import can_fall_through, restructure
from aura_choreo.semantics.naming import snake_case
from aura_choreo.semantics.params import MAX_FAMILY_SIZE
from aura_choreo.semantics.roles import FreeIndex
from aura_choreo.syntax import ast


class Expander(CallExpander):
    """Expands one choreography's body into core statements; collects diagnostics as it goes."""

    def expand(self) -> core.CoreSeq:
        c = self.choreography
        ctx = Ctx(Block(c.name), protocol_defs(c.body), (c.name,))
        return self.block(c.body, ctx)

    # ------------------------------------------------------------ blocks

    def block(self, stmts: ast.Block, ctx: Ctx) -> core.CoreSeq:
        out: list[core.CoreStmt] = []
        endless: ast.Loop | ast.Rec | None = None
        jumped: ast.Continue | None = None
        for stmt in stmts:
            if jumped is not None and not isinstance(stmt, ast.ProtocolDef):
                self.diagnostics.append(
                    warning(
                        "W103",
                        stmt.span,
                        f"statement unreachable: it follows `continue {jumped.label}`",
                        "move it before the `continue`, or remove it",
                    )
                )
                jumped = None
            if endless is not None and not isinstance(stmt, ast.ProtocolDef):
                self.diagnostics.append(
                    warning(
                        "W103",
                        stmt.span,
                        f"statement unreachable: the {_kind(endless)} at line {endless.span.line} never ends",
                        "add a `break` inside a choice, `if` or `match` of the loop, or remove this"
                        if isinstance(endless, ast.Loop)
                        else f"give `rec {endless.label}` a path not ending in `continue`, or remove this",
                    )
                )
                endless = None
            expanded = self.statement(stmt, ctx)
            out.extend(expanded)
            if isinstance(stmt, ast.Rec) and expanded and not can_fall_through(tuple(expanded)):
                endless = stmt
            if isinstance(stmt, ast.Continue) and stmt.label in ctx.recs:
                jumped = stmt
            if isinstance(stmt, ast.Loop) and stmt.kind == "open" and not loop_breaks(stmt.body):
                endless = stmt
        return tuple(out)

    def statement(self, stmt: ast.Stmt, ctx: Ctx) -> list[core.CoreStmt]:
        handler = getattr(self, "_" + type(stmt).__name__.lower(), None)
        if handler is None:
            return []
        result: list[core.CoreStmt] = handler(stmt, ctx)
        return result

    # ------------------------------------------------------------ choices

    def _branch_labels_ok(self, labels: list[tuple[str, Span]], span: Span, what: str) -> None:
        if not labels:
            self.diagnostics.append(
                error("E030", span, f"empty {what}: it has no branches", "add at least one branch")
            )
        seen: dict[str, Span] = {}
        for label, at in labels:
            if label in seen:
                self.diagnostics.append(
                    error(
                        "E031",
                        at,
                        f"duplicate branch label `{label}` (first at line {seen[label].line})",
                        "give each branch a distinct label",
                    )
                )
            else:
                seen[label] = at

    def _choice(self, stmt: ast.Choice, ctx: Ctx) -> list[core.CoreStmt]:
        self._branch_labels_ok([(b.label, b.span) for b in stmt.branches], stmt.span, "choice")
        decider = self._single_role(stmt.decider, ctx, "decider of a choice")
        branches = tuple(
            core.CoreBranch(b.label, self.block(b.body, ctx), b.guard, span=b.span) for b in stmt.branches
        )
        if decider is None:
            return []
        name = self.names.choice("_or_".join(snake_case(b.label) for b in stmt.branches) or "choice")
        return [core.Choice(decider, branches, name, span=stmt.span)]

    def _match(self, stmt: ast.Match, ctx: Ctx) -> list[core.CoreStmt]:
        labels = [(_arm_label(arm.pattern), arm.span) for arm in stmt.arms]
        self._branch_labels_ok(labels, stmt.span, "match")
        branches = tuple(
            core.CoreBranch(label, self.block(arm.body, ctx), pattern=arm.pattern, span=arm.span)
            for (label, _), arm in zip(labels, stmt.arms, strict=True)
        )
        base = identifier_for(stmt.subject) or "_or_".join(snake_case(label) for label, _ in labels)
        name = self.names.choice(base or "match")
        return [core.Conditional(stmt.subject, branches, name, construct="match", span=stmt.span)]

    def _if(self, stmt: ast.If, ctx: Ctx) -> list[core.CoreStmt]:
        branches = (
            core.CoreBranch("then", self.block(stmt.then_body, ctx), span=stmt.span),
            core.CoreBranch("else", self.block(stmt.else_body or (), ctx), span=stmt.span),
        )
        base = identifier_for(stmt.condition) or "then_or_else"
        return [core.Conditional(stmt.condition, branches, self.names.choice(base), span=stmt.span)]

    # ------------------------------------------------------------ loops

    def _loop(self, stmt: ast.Loop, ctx: Ctx) -> list[core.CoreStmt]:
        if stmt.kind == "count":
            # A count naming a field sent earlier is that received value (knowledge analysis checks
            # every loop role knows it), not a protocol parameter.
            count = (
                substitute(stmt.count, self._param_values(stmt.count, stmt.span, self.variables))
                if stmt.count
                else None
            )
            body = self.block(stmt.body, replace(ctx, loop="counted"))
            return [core.CountedLoop(count or ast.Literal(0), body, span=stmt.span)]
        label = self.names.loop_label()
        inner = replace(ctx, loop="rec")
        body = self.block(stmt.body, inner)
        if stmt.kind == "open":
            return [
                core.Rec(
                    label,
                    restructure(body, (core.Continue(label, span=stmt.span),), self.diagnostics),
                    span=stmt.span,
                )
            ]
        decider: str | None
        expr: ast.Expr | None = None
        if stmt.kind == "decides" and stmt.decider is not None:
            decider = self._single_role(stmt.decider, ctx, "decider of a loop")
            name = self.names.choice(snake_case(label))
        else:
            actors = first_actors(body, rec_bodies(body))
            decider = next(iter(actors)) if len(actors) == 1 else None
            if decider is None:
                self.diagnostics.append(
                    error(
                        "E032",
                        stmt.span,
                        "custom loop has no single role that acts first in its body: "
                        + (", ".join(sorted(actors)) or "nobody acts"),
                        "use `loop (decides: R)` to say which role decides",
                    )
                )
            condition = stmt.condition or "custom"
            expr = ast.Name(condition, span=stmt.span)
            name = self.names.choice(condition if condition.isidentifier() else snake_case(label))
        if decider is None:
            return []
        again = restructure(body, (core.Continue(label, span=stmt.span),), self.diagnostics)
        choice = core.Choice(
            decider,
            (core.CoreBranch("continue", again, span=stmt.span), core.CoreBranch("stop", (), span=stmt.span)),
            name,
            expr,
            construct="decided loop" if stmt.kind == "decides" else "custom loop",
            span=stmt.span,
        )
        return [core.Rec(label, (choice,), span=stmt.span)]

    def _for(self, stmt: ast.For, ctx: Ctx) -> list[core.CoreStmt]:
        start = substitute(stmt.start, self._param_values(stmt.start, stmt.span, self.variables))
        stop = substitute(stmt.stop, self._param_values(stmt.stop, stmt.span, self.variables))
        inner = replace(ctx, loop="counted")
        if mentions_index(stmt.body, stmt.var):
            first, last = int_value(start), int_value(stop)
            if first is None or last is None:
                self.diagnostics.append(
                    error("E014", stmt.span, f"the bounds of `for {stmt.var}` must be known to index roles")
                )
                return []
            if last - first > MAX_FAMILY_SIZE:
                self.diagnostics.append(
                    error(
                        "E014",
                        stmt.span,
                        f"`for {stmt.var}` indexes roles over {last - first} values",
                        f"at most {MAX_FAMILY_SIZE} instances per family",
                    )
                )
                return []
            out: list[core.CoreStmt] = []
            for i in range(first, last):
                out.extend(self.block(stmt.body, replace(inner, index_env={**ctx.index_env, stmt.var: i})))
            return out
        count = fold(ast.BinOp("-", stop, start, span=stmt.span))
        if (value := int_value(count)) is not None and value < 0:
            count = ast.Literal(0, span=stmt.span)
        body = self.block(stmt.body, inner)
        return [core.CountedLoop(count, body, stmt.var, start, span=stmt.span)]

    def _param_values(
        self, expr: ast.Expr, span: Span, carried: set[str] | frozenset[str] = frozenset()
    ) -> dict[str, int]:
        values: dict[str, int] = {}
        for name in sorted(variables(expr) - carried):
            value = self.params.value(name, span)
            if value is not None:
                values[name] = value
        return values

    def _break(self, stmt: ast.Break, ctx: Ctx) -> list[core.CoreStmt]:
        if ctx.loop is None:
            self.diagnostics.append(
                error(
                    "E050", stmt.span, "`break` outside a loop", "`break` leaves the innermost `loop { ... }`"
                )
            )
            return []
        if ctx.loop == "counted":
            self.diagnostics.append(
                error(
                    "E050",
                    stmt.span,
                    "`break` inside a counted loop",
                    "counted loops always run their count; use `loop { ... }` with a `break` instead",
                )
            )
            return []
        return [core.Break(span=stmt.span)]

    def _rec(self, stmt: ast.Rec, ctx: Ctx) -> list[core.CoreStmt]:
        body = self.block(stmt.body, replace(ctx, recs=ctx.recs | {stmt.label}))
        return [core.Rec(stmt.label, body, span=stmt.span)]

    def _continue(self, stmt: ast.Continue, ctx: Ctx) -> list[core.CoreStmt]:
        if stmt.label not in ctx.recs:
            self.diagnostics.append(
                error(
                    "E050",
                    stmt.span,
                    f"`continue {stmt.label}` outside `rec {stmt.label}`",
                    did_you_mean(stmt.label, ctx.recs)
                    or (
                        "the enclosing `rec` labels: " + ", ".join(f"`{r}`" for r in sorted(ctx.recs))
                        if ctx.recs
                        else f"wrap the block in `rec {stmt.label} {{ ... }}`"
                    ),
                )
            )
            return []
        return [core.Continue(stmt.label, span=stmt.span)]

    # ------------------------------------------------------------ structure

    def _parallel(self, stmt: ast.Parallel, ctx: Ctx) -> list[core.CoreStmt]:
        # a `break` inside a branch is reported by loop restructuring, which knows why it cannot work
        branches = tuple(self.block(b, ctx) for b in stmt.branches)
        return [core.Parallel(branches, span=stmt.span)]

    def _barrier(self, stmt: ast.Barrier, ctx: Ctx) -> list[core.CoreStmt]:
        if not self.roles.concrete:
            return []
        at = self._single_role(stmt.role, ctx, "barrier role") if stmt.role else self.roles.concrete[0]
        if at is None:
            return []
        others = [r for r in self.roles.concrete if r != at]
        gather = tuple((core.Message(r, at, "BarrierArrive", span=stmt.span),) for r in others)
        out: list[core.CoreStmt] = []
        if len(gather) > 1:
            out.append(core.Parallel(gather, span=stmt.span))
        else:
            out.extend(m for branch in gather for m in branch)
        out.extend(core.Message(at, r, "BarrierRelease", span=stmt.span) for r in others)
        return out

    def _localaction(self, stmt: ast.LocalAction, ctx: Ctx) -> list[core.CoreStmt]:
        resolved = self.roles.resolve(self.map_ref(stmt.role, ctx), dict(ctx.index_env))
        actors = self.roles.instances(resolved.family) if isinstance(resolved, FreeIndex) else resolved
        return [core.LocalAction(r, stmt.action, stmt.args, span=stmt.span) for r in actors]

    def _let(self, stmt: ast.Let, ctx: Ctx) -> list[core.CoreStmt]:
        self.variables.add(stmt.name)
        return [core.Let(stmt.name, stmt.value, span=stmt.span)]

    def _namedblock(self, stmt: ast.NamedBlock, ctx: Ctx) -> list[core.CoreStmt]:
        return list(self.block(stmt.body, replace(ctx, block=Block(stmt.name))))

    def _timeout(self, stmt: ast.Timeout, ctx: Ctx) -> list[core.CoreStmt]:
        deadline = self._deadline(stmt.deadline)
        if deadline is None:
            self.diagnostics.append(
                error("E070", stmt.deadline.span, "a timeout needs a positive duration (`30s`, `500ms`)")
            )
            deadline = 0
        return [core.Timeout(deadline, self.block(stmt.body, ctx), self.block(stmt.alt, ctx), span=stmt.span)]

    def _deadline(self, expr: ast.Expr) -> int | None:
        if isinstance(expr, ast.Duration):
            return expr.millis if expr.millis > 0 else None
        value = int_value(substitute(expr, self._param_values(expr, expr.span)))
        return value if value is not None and value > 0 else None

    def _try(self, stmt: ast.Try, ctx: Ctx) -> list[core.CoreStmt]:
        return [core.Try(self.block(stmt.body, ctx), self.block(stmt.compensate, ctx), span=stmt.span)]


def _kind(stmt: ast.Loop | ast.Rec) -> str:
    return "loop" if isinstance(stmt, ast.Loop) else f"`rec {stmt.label}`"


def _arm_label(pattern: str) -> str:
    """The branch label of a `match` arm: the path's last segment; `case_3` / `case_minus_3` for an
    integer (a label is also a message label when a notification is inserted: it must be a name)."""
    last = pattern.split("::")[-1]
    if last.lstrip("-").isdigit():
        return "case_" + last.replace("-", "minus_")
    return last
