"""Expansion of every piece of DSL sugar into the core language (SPEC §1.6).

Chains, exchanges, broadcasts, multicasts and fan-ins become messages; `match`/`if` become
conditionals (knowledge analysis later decides who evaluates them); every loop form becomes a counted
loop or `rec` + choice with `break` eliminated; barriers become messages; named blocks, `protocol`,
`call` and `compose` are inlined with roles substituted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from aura_choreo.diagnostics import Diagnostic, Span, did_you_mean, error, warning
from aura_choreo.semantics import core
from aura_choreo.semantics.actors import first_actors, rec_bodies
from aura_choreo.semantics.ast_walk import loop_breaks, mentions_index, protocol_defs
from aura_choreo.semantics.expressions import fold, identifier_for, int_value, substitute, variables
from aura_choreo.semantics.loops import can_fall_through, restructure
from aura_choreo.semantics.naming import NameAllocator, snake_case
from aura_choreo.semantics.params import MAX_FAMILY_SIZE, ParamEnv
from aura_choreo.semantics.roles import FreeIndex, RoleTable
from aura_choreo.syntax import ast
from aura_choreo.syntax.payload import AnnotationMap, PayloadItem


@dataclass
class _Block:
    """A naming scope for generated labels (`<Block>Step1`, ...)."""

    name: str
    steps: int = 0

    def next_label(self) -> str:
        self.steps += 1
        return f"{self.name}Step{self.steps}"


@dataclass(frozen=True)
class _Callee:
    name: str
    params: tuple[str, ...]
    body: ast.Block
    protocols: Mapping[str, ast.ProtocolDef]


@dataclass(frozen=True)
class _Ctx:
    block: _Block
    protocols: Mapping[str, ast.ProtocolDef]
    calls: tuple[str, ...]
    subst: Mapping[str, ast.RoleRef] = field(default_factory=dict)
    index_env: Mapping[str, int] = field(default_factory=dict)
    loop: str | None = None
    """None outside loops, `counted` in a counted loop (no break), `rec` in a loop that may break."""
    recs: frozenset[str] = frozenset()


def normalise_key(key: str) -> str:
    """`@flow_cost` and `flow_cost` are the same key."""
    return key.lstrip("@")


def annotation_map(*groups: ast.Annotations) -> AnnotationMap:
    """Annotations as (key, value) pairs; the first occurrence of a key wins."""
    seen: set[str] = set()
    result: list[tuple[str, ast.AnnotationValue]] = []
    for group in groups:
        for a in group:
            key = normalise_key(a.key)
            if key not in seen:
                seen.add(key)
                result.append((key, a.value))
    return tuple(result)


def payload_of(message: ast.Message) -> tuple[PayloadItem, ...]:
    """The payload items of a message; `Label<T>(x)` gives `x` the type `T`."""
    if message.fields:
        if len(message.fields) == 1 and len(message.type_args) == 1 and message.fields[0].type is None:
            return (PayloadItem(message.fields[0].name, message.type_args[0]),)
        return tuple(PayloadItem(f.name, f.type) for f in message.fields)
    return tuple(PayloadItem(None, t) for t in message.type_args)


class Expander:
    """Expands one choreography's body into core statements; collects diagnostics as it goes."""

    def __init__(
        self,
        choreography: ast.Choreography,
        registry: Mapping[str, ast.Choreography],
        roles: RoleTable,
        params: ParamEnv,
        diagnostics: list[Diagnostic],
        names: NameAllocator,
    ):
        self.choreography = choreography
        self.registry = registry
        self.roles = roles
        self.params = params
        self.diagnostics = diagnostics
        self.names = names
        self.variables: set[str] = set()
        """Payload fields and `let` names expanded so far: values the protocol carries, not parameters."""

    def expand(self) -> core.CoreSeq:
        c = self.choreography
        ctx = _Ctx(_Block(c.name), protocol_defs(c.body), (c.name,))
        return self.block(c.body, ctx)

    # ------------------------------------------------------------ blocks

    def block(self, stmts: ast.Block, ctx: _Ctx) -> core.CoreSeq:
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

    def statement(self, stmt: ast.Stmt, ctx: _Ctx) -> list[core.CoreStmt]:
        handler = getattr(self, "_" + type(stmt).__name__.lower(), None)
        if handler is None:
            return []
        result: list[core.CoreStmt] = handler(stmt, ctx)
        return result

    # ------------------------------------------------------------ messages

    def _label(self, message: ast.Message | None, ctx: _Ctx) -> tuple[str, tuple[PayloadItem, ...]]:
        if message is None:
            return ctx.block.next_label(), ()
        payload = payload_of(message)
        self.variables.update(p.name for p in payload if p.name)
        return message.label, payload

    def _send(self, stmt: ast.Send, ctx: _Ctx) -> list[core.CoreStmt]:
        label, payload = self._label(stmt.message, ctx)
        return self.transfer(stmt.sender, stmt.receiver, label, payload, stmt.annotations, stmt.span, ctx)

    def _chain(self, stmt: ast.Chain, ctx: _Ctx) -> list[core.CoreStmt]:
        out: list[core.CoreStmt] = []
        for sender, receiver in zip(stmt.participants, stmt.participants[1:], strict=False):
            label, payload = self._label(stmt.message, ctx)
            out.extend(self.transfer(sender, receiver, label, payload, stmt.annotations, stmt.span, ctx))
        return out

    def _exchange(self, stmt: ast.Exchange, ctx: _Ctx) -> list[core.CoreStmt]:
        label, payload = self._label(stmt.message, ctx)
        return [
            *self.transfer(
                stmt.left, stmt.right, label + "Request", payload, stmt.annotations, stmt.span, ctx
            ),
            *self.transfer(stmt.right, stmt.left, label + "Response", (), stmt.annotations, stmt.span, ctx),
        ]

    def _broadcast(self, stmt: ast.Broadcast, ctx: _Ctx) -> list[core.CoreStmt]:
        senders = self.roles.resolve(self.map_ref(stmt.sender.role, ctx), dict(ctx.index_env))
        if isinstance(senders, FreeIndex):
            senders = self.roles.instances(senders.family)
        label, payload = self._label(stmt.message, ctx)
        per_sender: list[core.CoreSeq] = []
        for sender in senders:
            per_sender.append(
                tuple(
                    core.Message(
                        sender,
                        receiver,
                        label,
                        payload,
                        annotation_map(stmt.sender.annotations, stmt.annotations),
                        annotation_map(stmt.annotations, stmt.sender.annotations),
                        span=stmt.span,
                    )
                    for receiver in self.roles.concrete
                    if receiver != sender
                )
            )
        if len(per_sender) == 1:
            return list(per_sender[0])
        return [core.Parallel(tuple(per_sender), span=stmt.span)] if per_sender else []

    def transfer(
        self,
        sender: ast.Participant,
        receiver: ast.Participant,
        label: str,
        payload: tuple[PayloadItem, ...],
        statement_annotations: ast.Annotations,
        span: Span,
        ctx: _Ctx,
    ) -> list[core.CoreStmt]:
        """`sender -> receiver: label`, expanded over families and free index variables."""
        env = dict(ctx.index_env)
        senders = self.roles.resolve(self.map_ref(sender.role, ctx), env)
        receivers = self.roles.resolve(self.map_ref(receiver.role, ctx), env)
        send_annotations = annotation_map(sender.annotations, statement_annotations)
        message_annotations = annotation_map(statement_annotations, sender.annotations, receiver.annotations)
        quorum = self._min_responses(message_annotations, span)
        free = senders if isinstance(senders, FreeIndex) else receivers
        if isinstance(free, FreeIndex):
            parts: list[core.CoreSeq] = []
            for i in range(free.size):
                inner = replace(ctx, index_env={**ctx.index_env, free.var: i})
                parts.append(
                    tuple(self.transfer(sender, receiver, label, payload, statement_annotations, span, inner))
                )
            if isinstance(senders, FreeIndex):
                return self._fan_in(parts, quorum, span)
            return [s for part in parts for s in part]
        assert not isinstance(receivers, FreeIndex) and not isinstance(senders, FreeIndex)
        pairs_by_sender: list[core.CoreSeq] = []
        for s in senders:
            messages: list[core.CoreStmt] = []
            for r in receivers:
                if s == r:
                    if len(senders) == 1 and len(receivers) == 1:
                        self.diagnostics.append(
                            error(
                                "E012",
                                span,
                                f"role `{s}` sends `{label}` to itself",
                                "a role cannot send to itself; use a local action `R: Action()` instead",
                            )
                        )
                    continue
                messages.append(
                    core.Message(s, r, label, payload, send_annotations, message_annotations, span=span)
                )
            pairs_by_sender.append(tuple(messages))
        if len(pairs_by_sender) == 1:
            return list(pairs_by_sender[0])
        return self._fan_in(pairs_by_sender, quorum, span)

    def _fan_in(self, parts: list[core.CoreSeq], quorum: int | None, span: Span) -> list[core.CoreStmt]:
        parts = [p for p in parts if p]
        if not parts:
            return []
        singles = [p[0] for p in parts if len(p) == 1 and isinstance(p[0], core.Message)]
        if quorum is not None and len(singles) == len(parts) and len({m.receiver for m in singles}) == 1:
            if quorum > len(singles):
                self.diagnostics.append(
                    error("E013", span, f"min_responses = {quorum} exceeds the {len(singles)} senders")
                )
                quorum = len(singles)
            return [core.Quorum(quorum, tuple(m for m in singles if isinstance(m, core.Message)), span=span)]
        if len(parts) == 1:
            return list(parts[0])
        return [core.Parallel(tuple(parts), span=span)]

    def _min_responses(self, annotations: AnnotationMap, span: Span) -> int | None:
        for key, value in annotations:
            if key != "min_responses":
                continue
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, ast.Ident):
                return self.params.value(value.name, span)
            if isinstance(value, str):
                return self.params.value(value, span)
        return None

    def map_ref(self, ref: ast.RoleRef, ctx: _Ctx) -> ast.RoleRef:
        """A reference in a sub-protocol rewritten to the caller's roles."""
        target = ctx.subst.get(ref.name)
        if target is None:
            return ref
        if ref.index is None:
            return ast.RoleRef(target.name, target.index, span=ref.span)
        if target.index is None:
            return ast.RoleRef(target.name, ref.index, span=ref.span)
        self.diagnostics.append(
            error(
                "E013", ref.span, f"`{ref.name}` is bound to the single role instance and cannot be indexed"
            )
        )
        return ast.RoleRef(target.name, target.index, span=ref.span)

    def _single_role(self, ref: ast.RoleRef, ctx: _Ctx, what: str) -> str | None:
        resolved = self.roles.resolve(self.map_ref(ref, ctx), dict(ctx.index_env))
        if isinstance(resolved, tuple) and len(resolved) == 1:
            return resolved[0]
        if isinstance(resolved, FreeIndex) or len(resolved) > 1:
            self.diagnostics.append(
                error(
                    "E032",
                    ref.span,
                    f"the {what} must be a single role, not the family `{ref.name}`",
                    f"name one instance, e.g. `{ref.name}[0]`",
                )
            )
        return None

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

    def _choice(self, stmt: ast.Choice, ctx: _Ctx) -> list[core.CoreStmt]:
        self._branch_labels_ok([(b.label, b.span) for b in stmt.branches], stmt.span, "choice")
        decider = self._single_role(stmt.decider, ctx, "decider of a choice")
        branches = tuple(
            core.CoreBranch(b.label, self.block(b.body, ctx), b.guard, span=b.span) for b in stmt.branches
        )
        if decider is None:
            return []
        name = self.names.choice("_or_".join(snake_case(b.label) for b in stmt.branches) or "choice")
        return [core.Choice(decider, branches, name, span=stmt.span)]

    def _match(self, stmt: ast.Match, ctx: _Ctx) -> list[core.CoreStmt]:
        labels = [(_arm_label(arm.pattern), arm.span) for arm in stmt.arms]
        self._branch_labels_ok(labels, stmt.span, "match")
        branches = tuple(
            core.CoreBranch(label, self.block(arm.body, ctx), pattern=arm.pattern, span=arm.span)
            for (label, _), arm in zip(labels, stmt.arms, strict=True)
        )
        base = identifier_for(stmt.subject) or "_or_".join(snake_case(label) for label, _ in labels)
        name = self.names.choice(base or "match")
        return [core.Conditional(stmt.subject, branches, name, construct="match", span=stmt.span)]

    def _if(self, stmt: ast.If, ctx: _Ctx) -> list[core.CoreStmt]:
        branches = (
            core.CoreBranch("then", self.block(stmt.then_body, ctx), span=stmt.span),
            core.CoreBranch("else", self.block(stmt.else_body or (), ctx), span=stmt.span),
        )
        base = identifier_for(stmt.condition) or "then_or_else"
        return [core.Conditional(stmt.condition, branches, self.names.choice(base), span=stmt.span)]

    # ------------------------------------------------------------ loops

    def _loop(self, stmt: ast.Loop, ctx: _Ctx) -> list[core.CoreStmt]:
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

    def _for(self, stmt: ast.For, ctx: _Ctx) -> list[core.CoreStmt]:
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

    def _break(self, stmt: ast.Break, ctx: _Ctx) -> list[core.CoreStmt]:
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

    def _rec(self, stmt: ast.Rec, ctx: _Ctx) -> list[core.CoreStmt]:
        body = self.block(stmt.body, replace(ctx, recs=ctx.recs | {stmt.label}))
        return [core.Rec(stmt.label, body, span=stmt.span)]

    def _continue(self, stmt: ast.Continue, ctx: _Ctx) -> list[core.CoreStmt]:
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

    def _parallel(self, stmt: ast.Parallel, ctx: _Ctx) -> list[core.CoreStmt]:
        # a `break` inside a branch is reported by loop restructuring, which knows why it cannot work
        branches = tuple(self.block(b, ctx) for b in stmt.branches)
        return [core.Parallel(branches, span=stmt.span)]

    def _barrier(self, stmt: ast.Barrier, ctx: _Ctx) -> list[core.CoreStmt]:
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

    def _localaction(self, stmt: ast.LocalAction, ctx: _Ctx) -> list[core.CoreStmt]:
        resolved = self.roles.resolve(self.map_ref(stmt.role, ctx), dict(ctx.index_env))
        actors = self.roles.instances(resolved.family) if isinstance(resolved, FreeIndex) else resolved
        return [core.LocalAction(r, stmt.action, stmt.args, span=stmt.span) for r in actors]

    def _let(self, stmt: ast.Let, ctx: _Ctx) -> list[core.CoreStmt]:
        self.variables.add(stmt.name)
        return [core.Let(stmt.name, stmt.value, span=stmt.span)]

    def _namedblock(self, stmt: ast.NamedBlock, ctx: _Ctx) -> list[core.CoreStmt]:
        return list(self.block(stmt.body, replace(ctx, block=_Block(stmt.name))))

    def _timeout(self, stmt: ast.Timeout, ctx: _Ctx) -> list[core.CoreStmt]:
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

    def _try(self, stmt: ast.Try, ctx: _Ctx) -> list[core.CoreStmt]:
        return [core.Try(self.block(stmt.body, ctx), self.block(stmt.compensate, ctx), span=stmt.span)]

    # ------------------------------------------------------------ sub-protocols

    def _callprotocol(self, stmt: ast.CallProtocol, ctx: _Ctx) -> list[core.CoreStmt]:
        callee = self._callee(stmt, ctx)
        if callee is None:
            return []
        if callee.name in ctx.calls:
            chain = " -> ".join((*ctx.calls, callee.name))
            self.diagnostics.append(
                error(
                    "E021",
                    stmt.span,
                    f"recursive call of sub-protocol `{callee.name}` ({chain})",
                    "sub-protocols are inlined; use `rec`/`loop` for repetition",
                )
            )
            return []
        args = (
            stmt.args
            if stmt.args is not None
            else tuple(ast.RoleRef(p, span=stmt.span) for p in callee.params)
        )
        if len(args) != len(callee.params):
            self.diagnostics.append(
                error(
                    "E022",
                    stmt.span,
                    f"`{callee.name}` takes {len(callee.params)} role(s) ({', '.join(callee.params)}), "
                    f"got {len(args)}",
                    f"write `{stmt.keyword} {callee.name}({', '.join(callee.params)})` with your roles",
                )
            )
            return []
        subst: dict[str, ast.RoleRef] = {}
        for param, arg in zip(callee.params, args, strict=True):
            mapped = self.map_ref(arg, ctx)
            if mapped.name not in self.roles.decls:
                self.diagnostics.append(
                    error(
                        "E022" if stmt.args is None else "E010",
                        arg.span,
                        f"undefined role `{mapped.name}` passed to `{callee.name}`",
                        did_you_mean(mapped.name, self.roles.decls)
                        or f"pass roles explicitly: `{stmt.keyword} {callee.name}(...)`",
                    )
                )
                return []
            index = mapped.index
            if (
                isinstance(index, ast.IndexValue)
                and isinstance(index.value, str)
                and index.value in ctx.index_env
            ):
                index = ast.IndexValue(ctx.index_env[index.value])
            elif isinstance(index, ast.IndexExpr):
                index = ast.IndexExpr(substitute(index.expr, ctx.index_env))
            subst[param] = ast.RoleRef(mapped.name, index, span=arg.span)
        inner = _Ctx(_Block(callee.name), callee.protocols, (*ctx.calls, callee.name), subst)
        return list(self.block(callee.body, inner))

    def _callee(self, stmt: ast.CallProtocol, ctx: _Ctx) -> _Callee | None:
        local = ctx.protocols.get(stmt.name)
        if local is not None:
            return _Callee(
                local.name, local.params, local.body, {**ctx.protocols, **protocol_defs(local.body)}
            )
        other = self.registry.get(stmt.name)
        if other is not None:
            return _Callee(
                other.name, tuple(d.name for d in other.roles), other.body, protocol_defs(other.body)
            )
        known = sorted({*ctx.protocols, *self.registry} - set(ctx.calls))
        self.diagnostics.append(
            error(
                "E020",
                stmt.span,
                f"undefined sub-protocol `{stmt.name}`",
                did_you_mean(stmt.name, known)
                or f"define it in this choreography with `protocol {stmt.name}(X, Y) {{ ... }}`,"
                f" or import the file that declares `choreography {stmt.name}`",
            )
        )
        return None

    def _protocoldef(self, stmt: ast.ProtocolDef, ctx: _Ctx) -> list[core.CoreStmt]:
        return []  # a definition does nothing where it stands; calls inline it


def _kind(stmt: ast.Loop | ast.Rec) -> str:
    return "loop" if isinstance(stmt, ast.Loop) else f"`rec {stmt.label}`"


def _arm_label(pattern: str) -> str:
    """The branch label of a `match` arm: the path's last segment; `case_3` / `case_minus_3` for an
    integer (a label is also a message label when a notification is inserted: it must be a name)."""
    last = pattern.split("::")[-1]
    if last.lstrip("-").isdigit():
        return "case_" + last.replace("-", "minus_")
    return last
