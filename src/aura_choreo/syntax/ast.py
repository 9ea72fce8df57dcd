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

# The nodes statements are made of live in `syntax.part_nodes`; every stage names them through here.
from aura_choreo.syntax.part_nodes import Annotation as Annotation
from aura_choreo.syntax.part_nodes import AnnotationArgs as AnnotationArgs
from aura_choreo.syntax.part_nodes import Annotations as Annotations
from aura_choreo.syntax.part_nodes import AnnotationValue as AnnotationValue
from aura_choreo.syntax.part_nodes import Ident as Ident
from aura_choreo.syntax.part_nodes import IndexAll as IndexAll
from aura_choreo.syntax.part_nodes import IndexExpr as IndexExpr
from aura_choreo.syntax.part_nodes import IndexRange as IndexRange
from aura_choreo.syntax.part_nodes import IndexValue as IndexValue
from aura_choreo.syntax.part_nodes import Message as Message
from aura_choreo.syntax.part_nodes import Participant as Participant
from aura_choreo.syntax.part_nodes import PayloadField as PayloadField
from aura_choreo.syntax.part_nodes import RoleDecl as RoleDecl
from aura_choreo.syntax.part_nodes import RoleIndex as RoleIndex
from aura_choreo.syntax.part_nodes import RoleRef as RoleRef
from aura_choreo.syntax.part_nodes import TypeExpr as TypeExpr
from aura_choreo.syntax.part_nodes import TypeRef as TypeRef
from aura_choreo.syntax.part_nodes import UnionType as UnionType

# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Stmt:
    """Base of statements; `annotations` are those written before the statement."""

    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)
    annotations: Annotations = field(default=(), kw_only=True)


Block = tuple[Stmt, ...]


@dataclass(frozen=True, slots=True)
class Send(Stmt):
    """`A -> B: M`, also multicast (`A -> R[*]: M`) and fan-in (`R[*] -> A: M`); message None if omitted."""

    sender: Participant
    receiver: Participant
    message: Message | None


@dataclass(frozen=True, slots=True)
class Chain(Stmt):
    """`A -> B -> C: M` (three or more participants)."""

    participants: tuple[Participant, ...]
    message: Message | None


@dataclass(frozen=True, slots=True)
class Exchange(Stmt):
    """`A <-> B` or `A <-> B: M`."""

    left: Participant
    right: Participant
    message: Message | None


@dataclass(frozen=True, slots=True)
class Broadcast(Stmt):
    """`A ->* : M`."""

    sender: Participant
    message: Message


@dataclass(frozen=True, slots=True)
class Branch:
    """One branch of a choice: a label, an optional guard, a body."""

    label: str
    guard: Expr | None
    body: Block
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Choice(Stmt):
    """`choice R { ... }` or `choice at R { ... }`."""

    decider: RoleRef
    branches: tuple[Branch, ...]


@dataclass(frozen=True, slots=True)
class MatchArm:
    """`Pattern => body`; `pattern` is a path like `Vote::Commit` or `_`."""

    pattern: str
    body: Block
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Match(Stmt):
    """`match expr { P => ..., ... }`."""

    subject: Expr
    arms: tuple[MatchArm, ...]


@dataclass(frozen=True, slots=True)
class If(Stmt):
    """`if cond { ... } else { ... }` (`else_body` None when absent)."""

    condition: Expr
    then_body: Block
    else_body: Block | None


@dataclass(frozen=True, slots=True)
class Loop(Stmt):
    """Every `loop` form: kind is `count`, `decides`, `custom` or `open`."""

    kind: str
    body: Block
    count: Expr | None = None
    decider: RoleRef | None = None
    condition: str | None = None


@dataclass(frozen=True, slots=True)
class For(Stmt):
    """`for i in a..b { ... }` (a counted loop with a known index)."""

    var: str
    start: Expr
    stop: Expr
    body: Block


@dataclass(frozen=True, slots=True)
class Break(Stmt):
    """`break` out of the innermost loop."""


@dataclass(frozen=True, slots=True)
class Rec(Stmt):
    """`rec L { ... }`."""

    label: str
    body: Block


@dataclass(frozen=True, slots=True)
class Continue(Stmt):
    """`continue L`."""

    label: str


@dataclass(frozen=True, slots=True)
class Parallel(Stmt):
    """`parallel { s1 | s2 }` / `par { ... }`: each branch a block."""

    branches: tuple[Block, ...]


@dataclass(frozen=True, slots=True)
class Barrier(Stmt):
    """`barrier;` or `barrier(R);`."""

    role: RoleRef | None = None


@dataclass(frozen=True, slots=True)
class LocalAction(Stmt):
    """`R: Action(args);`."""

    role: RoleRef
    action: str
    args: tuple[Expr, ...] = ()


@dataclass(frozen=True, slots=True)
class Let(Stmt):
    """`let x = expr;`."""

    name: str
    value: Expr


@dataclass(frozen=True, slots=True)
class ProtocolDef(Stmt):
    """A nested `protocol Sub(X, Y) { ... }` definition."""

    name: str
    params: tuple[str, ...]
    body: Block


@dataclass(frozen=True, slots=True)
class CallProtocol(Stmt):
    """`call Sub(A, B);`, `compose Sub(A, B);`, `call Sub;` (args None when omitted)."""

    name: str
    args: tuple[RoleRef, ...] | None
    keyword: str = field(default="call", compare=False)


@dataclass(frozen=True, slots=True)
class NamedBlock(Stmt):
    """`sub_protocol Name { ... }`."""

    name: str
    body: Block


@dataclass(frozen=True, slots=True)
class Timeout(Stmt):
    """`timeout(d) { body } or { alt }`."""

    deadline: Expr
    body: Block
    alt: Block


@dataclass(frozen=True, slots=True)
class Try(Stmt):
    """`try { body } compensate { comp }`."""

    body: Block
    compensate: Block


# ---------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Import:
    """`import "other.choreo";`."""

    path: str
    span: Span = field(default=UNKNOWN_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A parsed file: its imports and choreographies."""

    path: str
    imports: tuple[Import, ...]
    choreographies: tuple[Choreography, ...]
