"""The abstract syntax tree of a `.choreo` file.

Every node is a frozen dataclass carrying its `span`. Spans are excluded from equality
(`compare=False`), so two trees are equal when they say the same thing, wherever it was written:
this is what `parse(fmt(x)) == parse(x)` relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aura_choreo.diagnostics import UNKNOWN_SPAN, Span

# The expression nodes live in `syntax.expr_nodes`; every stage names them through this module.
from aura_choreo.syntax.expr_nodes import Attribute as Attribute
from aura_choreo.syntax.expr_nodes import BinOp as BinOp
from aura_choreo.syntax.expr_nodes import Call as Call
from aura_choreo.syntax.expr_nodes import Duration as Duration
from aura_choreo.syntax.expr_nodes import Expr as Expr
from aura_choreo.syntax.expr_nodes import Index as Index
from aura_choreo.syntax.expr_nodes import ListExpr as ListExpr
from aura_choreo.syntax.expr_nodes import Literal as Literal
from aura_choreo.syntax.expr_nodes import Name as Name
from aura_choreo.syntax.expr_nodes import UnaryOp as UnaryOp

# ---------------------------------------------------------------- annotations


@dataclass(frozen=True)
class Ident:
    """A bare identifier used as an annotation value (`@optimize(inline)`)."""

    name: str


@dataclass(frozen=True)
class AnnotationArgs:
    """The argument list of `@key(a, b = 3)`."""

    positional: tuple[AnnotationValue, ...]
    named: tuple[tuple[str, AnnotationValue], ...]


AnnotationValue = int | str | bool | Ident | tuple["AnnotationValue", ...] | AnnotationArgs
"""A value: int, string, bool, identifier, list (a tuple), or an argument list. Flags are `True`."""


@dataclass(frozen=True)
class Annotation:
    """One `key = value` annotation."""

    key: str
    value: AnnotationValue
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


Annotations = tuple[Annotation, ...]


# ---------------------------------------------------------------- roles, types, messages


@dataclass(frozen=True)
class RoleDecl:
    """`A`, `Workers[3]`, `Followers[N]`, `Signers[*]`: size is None (plain), an int, a parameter, or `*`."""

    name: str
    size: int | str | None = None
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)

    @property
    def is_family(self) -> bool:
        return self.size is not None


@dataclass(frozen=True)
class IndexAll:
    """`R[*]`: every instance."""


@dataclass(frozen=True)
class IndexValue:
    """`R[0]` (an int) or `R[i]` (an index variable or parameter name)."""

    value: int | str


@dataclass(frozen=True)
class IndexRange:
    """`R[a..b]`: instances a to b-1; bounds are ints or parameter names."""

    start: int | str
    stop: int | str


@dataclass(frozen=True)
class IndexExpr:
    """`R[i+1]`, `R[(i + 1) % N]`: integer arithmetic over index variables, integers and parameters."""

    expr: Expr


RoleIndex = IndexAll | IndexValue | IndexRange | IndexExpr


@dataclass(frozen=True)
class RoleRef:
    """A reference to a role in a statement, with an optional family index."""

    name: str
    index: RoleIndex | None = None
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class TypeRef:
    """A type: a path (`std::vec::Vec`) with generic arguments."""

    name: str
    args: tuple[TypeExpr, ...] = ()
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}<{', '.join(str(a) for a in self.args)}>"


@dataclass(frozen=True)
class UnionType:
    """A Python union type: `int | None`."""

    options: tuple[TypeExpr, ...]
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)

    def __str__(self) -> str:
        return " | ".join(str(o) for o in self.options)


TypeExpr = TypeRef | UnionType


@dataclass(frozen=True)
class PayloadField:
    """`name: Type`, a bare `Type`, or a bare `name` (then `type` is None)."""

    name: str | None
    type: TypeExpr | None
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Message:
    """`Label`, `Label<T>`, `Label(fields)`, `Label<T>(fields)`."""

    label: str
    type_args: tuple[TypeExpr, ...] = ()
    fields: tuple[PayloadField, ...] = ()
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Participant:
    """A role in a send with the annotations written on it (`A[flow_cost = 5]`)."""

    role: RoleRef
    annotations: Annotations = ()
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


# ---------------------------------------------------------------- statements


@dataclass(frozen=True)
class Stmt:
    """Base of statements; `annotations` are those written before the statement."""

    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)
    annotations: Annotations = field(default=(), kw_only=True)


Block = tuple[Stmt, ...]


@dataclass(frozen=True)
class Send(Stmt):
    """`A -> B: M`, also multicast (`A -> R[*]: M`) and fan-in (`R[*] -> A: M`); message None if omitted."""

    sender: Participant
    receiver: Participant
    message: Message | None


@dataclass(frozen=True)
class Chain(Stmt):
    """`A -> B -> C: M` (three or more participants)."""

    participants: tuple[Participant, ...]
    message: Message | None


@dataclass(frozen=True)
class Exchange(Stmt):
    """`A <-> B` or `A <-> B: M`."""

    left: Participant
    right: Participant
    message: Message | None


@dataclass(frozen=True)
class Broadcast(Stmt):
    """`A ->* : M`."""

    sender: Participant
    message: Message


@dataclass(frozen=True)
class Branch:
    """One branch of a choice: a label, an optional guard, a body."""

    label: str
    guard: Expr | None
    body: Block
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Choice(Stmt):
    """`choice R { ... }` or `choice at R { ... }`."""

    decider: RoleRef
    branches: tuple[Branch, ...]


@dataclass(frozen=True)
class MatchArm:
    """`Pattern => body`; `pattern` is a path like `Vote::Commit` or `_`."""

    pattern: str
    body: Block
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class Match(Stmt):
    """`match expr { P => ..., ... }`."""

    subject: Expr
    arms: tuple[MatchArm, ...]


@dataclass(frozen=True)
class If(Stmt):
    """`if cond { ... } else { ... }` (`else_body` None when absent)."""

    condition: Expr
    then_body: Block
    else_body: Block | None


@dataclass(frozen=True)
class Loop(Stmt):
    """Every `loop` form: kind is `count`, `decides`, `custom` or `open`."""

    kind: str
    body: Block
    count: Expr | None = None
    decider: RoleRef | None = None
    condition: str | None = None


@dataclass(frozen=True)
class For(Stmt):
    """`for i in a..b { ... }` (a counted loop with a known index)."""

    var: str
    start: Expr
    stop: Expr
    body: Block


@dataclass(frozen=True)
class Break(Stmt):
    """`break` out of the innermost loop."""


@dataclass(frozen=True)
class Rec(Stmt):
    """`rec L { ... }`."""

    label: str
    body: Block


@dataclass(frozen=True)
class Continue(Stmt):
    """`continue L`."""

    label: str


@dataclass(frozen=True)
class Parallel(Stmt):
    """`parallel { s1 | s2 }` / `par { ... }`: each branch a block."""

    branches: tuple[Block, ...]


@dataclass(frozen=True)
class Barrier(Stmt):
    """`barrier;` or `barrier(R);`."""

    role: RoleRef | None = None


@dataclass(frozen=True)
class LocalAction(Stmt):
    """`R: Action(args);`."""

    role: RoleRef
    action: str
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True)
class Let(Stmt):
    """`let x = expr;`."""

    name: str
    value: Expr


@dataclass(frozen=True)
class ProtocolDef(Stmt):
    """A nested `protocol Sub(X, Y) { ... }` definition."""

    name: str
    params: tuple[str, ...]
    body: Block


@dataclass(frozen=True)
class CallProtocol(Stmt):
    """`call Sub(A, B);`, `compose Sub(A, B);`, `call Sub;` (args None when omitted)."""

    name: str
    args: tuple[RoleRef, ...] | None
    keyword: str = field(default="call", compare=False)


@dataclass(frozen=True)
class NamedBlock(Stmt):
    """`sub_protocol Name { ... }`."""

    name: str
    body: Block


@dataclass(frozen=True)
class Timeout(Stmt):
    """`timeout(d) { body } or { alt }`."""

    deadline: Expr
    body: Block
    alt: Block


@dataclass(frozen=True)
class Try(Stmt):
    """`try { body } compensate { comp }`."""

    body: Block
    compensate: Block


# ---------------------------------------------------------------- files


@dataclass(frozen=True)
class Choreography:
    """One choreography: its name, namespace, roles, top-level annotations and body."""

    name: str
    roles: tuple[RoleDecl, ...]
    body: Block
    namespace: str | None = None
    annotations: Annotations = ()
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


@dataclass(frozen=True)
class Import:
    """`import "other.choreo";`."""

    path: str
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True)
class SourceFile:
    """A parsed file: its imports and choreographies."""

    path: str
    imports: tuple[Import, ...]
    choreographies: tuple[Choreography, ...]
