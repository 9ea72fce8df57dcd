"""The expansion context and the message rules of `semantics/expand.py` (SPEC §1.6).

`MessageExpander` turns every message form (`A -> B`, chains, exchanges, broadcasts, transfers over
families and free index variables, fan-ins with `min_responses`) into core messages, parallels and
quorums, and maps a sub-protocol's role references to the caller's roles. `Expander` extends it with
blocks, choices, loops and sub-protocols.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from aura_choreo.diagnostics import Diagnostic, Span, error
from aura_choreo.semantics import core
from aura_choreo.semantics.naming import NameAllocator
from aura_choreo.semantics.params import ParamEnv
from aura_choreo.semantics.roles import FreeIndex, RoleTable
from aura_choreo.syntax import ast
from aura_choreo.syntax.payload import AnnotationMap, PayloadItem


@dataclass
class Block:
    """A naming scope for generated labels (`<Block>Step1`, ...)."""

    name: str
    steps: int = 0

    def next_label(self) -> str:
        self.steps += 1
        return f"{self.name}Step{self.steps}"


@dataclass(frozen=True)
class Ctx:
    block: Block
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


class MessageExpander:
    """The message rules of the expander; collects diagnostics as it goes."""

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

    # ------------------------------------------------------------ messages

    def _label(self, message: ast.Message | None, ctx: Ctx) -> tuple[str, tuple[PayloadItem, ...]]:
        if message is None:
            return ctx.block.next_label(), ()
        self._reserved_fields(message)
        payload = payload_of(message)
        self.variables.update(p.name for p in payload if p.name)
        return message.label, payload

    def _reserved_fields(self, message: ast.Message) -> None:
        """E015 on a payload field named `__x`: the runtime and the generated code carry a payload as a
        msgspec Struct whose attributes are the field names, and in a class body Python mangles `__x`
        (msgspec refuses it) while `__class__`-style names clash with what every Struct inherits."""
        for f in message.fields:
            if f.name is None or not f.name.startswith("__"):
                continue
            if any(d.code == "E015" and d.span == f.span for d in self.diagnostics):
                continue  # the same message expanded again (a loop, a family, a call)
            self.diagnostics.append(
                error(
                    "E015",
                    f.span,
                    f"payload field `{f.name}` starts with `__`, which Python reserves inside a class",
                    "rename it without the leading `__`",
                )
            )

    def _send(self, stmt: ast.Send, ctx: Ctx) -> list[core.CoreStmt]:
        label, payload = self._label(stmt.message, ctx)
        return self.transfer(stmt.sender, stmt.receiver, label, payload, stmt.annotations, stmt.span, ctx)

    def _chain(self, stmt: ast.Chain, ctx: Ctx) -> list[core.CoreStmt]:
        out: list[core.CoreStmt] = []
        for sender, receiver in zip(stmt.participants, stmt.participants[1:], strict=False):
            label, payload = self._label(stmt.message, ctx)
            out.extend(self.transfer(sender, receiver, label, payload, stmt.annotations, stmt.span, ctx))
        return out

    def _exchange(self, stmt: ast.Exchange, ctx: Ctx) -> list[core.CoreStmt]:
        label, payload = self._label(stmt.message, ctx)
        return [
            *self.transfer(
                stmt.left, stmt.right, label + "Request", payload, stmt.annotations, stmt.span, ctx
            ),
            *self.transfer(stmt.right, stmt.left, label + "Response", (), stmt.annotations, stmt.span, ctx),
        ]

    def _broadcast(self, stmt: ast.Broadcast, ctx: Ctx) -> list[core.CoreStmt]:
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
        ctx: Ctx,
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

    def map_ref(self, ref: ast.RoleRef, ctx: Ctx) -> ast.RoleRef:
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

    def _single_role(self, ref: ast.RoleRef, ctx: Ctx, what: str) -> str | None:
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
