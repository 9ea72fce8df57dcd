"""Behaviours: the user code that supplies payloads, decisions, guard values and local actions.

A behaviour is any object. The runner asks it, by name:
- payloads: a method named after the label, `def PrepareRequest(self, env) -> message`; it may return
  the generated struct, a dict of fields, a tuple of field values, a single value for a one-field
  payload, or None for an empty payload;
- decisions: `def choose_<choice>(self, env) -> label` (`Choose.choice`; `choose` when unnamed);
- values of variables the role does not know (guards, `match` subjects): `def value_<name>(self, env)`;
- local actions: a method named after the action, `def Validate(self, env, *args)`.
Whatever a behaviour does not define is synthesised by `DefaultBehaviour` (seeded): payloads from the
declared types, random branches whose guards hold. So any protocol runs with no user code at all.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aura_choreo.projection.local_types import (
    Choose,
    If,
    Local,
    LocalType,
    Loop,
    Offer,
    Payload,
    Recv,
    Send,
    iter_steps,
)
from aura_choreo.runtime.branching import TRUTH_LABELS, select_branch
from aura_choreo.runtime.expressions import ExpressionError, attribute_reads, evaluate, free_names
from aura_choreo.runtime.messages import (
    BOOL_NAMES,
    BYTES_NAMES,
    FLOAT_NAMES,
    INT_NAMES,
    LIST_NAMES,
    MAP_NAMES,
    OPTION_NAMES,
    STR_NAMES,
    field_names,
    last_segment,
)
from aura_choreo.syntax.ast import Expr, Name, TypeExpr, TypeRef, UnionType


@dataclass(frozen=True)
class ProtocolHints:
    """What synthesis needs to know about how a protocol reads its values.

    `fields`: variable -> attribute names expressions read from it (`chunk` -> {`is_last`});
    `patterns`: variable or type name -> the `match` patterns it is compared with (`Vote::Commit`).
    """

    fields: Mapping[str, frozenset[str]] = field(default_factory=dict)
    patterns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @staticmethod
    def from_local_types(local_types: Iterable[LocalType]) -> ProtocolHints:
        fields: dict[str, set[str]] = {}
        patterns: dict[str, list[str]] = {}
        types_of: dict[str, str] = {}
        exprs: list[Expr] = []
        matches: list[tuple[Expr, tuple[str, ...]]] = []
        for local_type in local_types:
            for step in iter_steps(local_type.steps):
                exprs.extend(_expressions(step))
                if isinstance(step, If) and step.patterns:
                    matches.append((step.expr, step.patterns))
                elif isinstance(step, Choose) and step.expr is not None:
                    labels = tuple(b.label for b in step.branches)
                    if not any(set(labels) <= set(pair) for pair in TRUTH_LABELS):
                        matches.append((step.expr, labels))  # a `match`, not an `if` or custom loop
                for item in _payload_of(step):
                    if item.name is not None and isinstance(item.type, TypeRef):
                        types_of.setdefault(item.name, last_segment(item.type.name))
        for expr in exprs:
            for var, attrs in attribute_reads(expr).items():
                fields.setdefault(var, set()).update(attrs)
        for expr, pats in matches:
            if isinstance(expr, Name):
                concrete = [p for p in pats if p != "_"]
                for key in (expr.name, types_of.get(expr.name, "")):
                    if key and concrete:
                        bucket = patterns.setdefault(key, [])
                        bucket.extend(p for p in concrete if p not in bucket)
        return ProtocolHints(
            {k: frozenset(v) for k, v in fields.items()}, {k: tuple(v) for k, v in patterns.items()}
        )


def _payload_of(step: object) -> Payload:
    if isinstance(step, Send | Recv):
        return step.payload
    return ()


def _expressions(step: object) -> list[Expr]:
    found: list[Expr] = []
    if isinstance(step, If):
        found.append(step.expr)
    if isinstance(step, Choose):
        if step.expr is not None:
            found.append(step.expr)
        found.extend(b.guard for b in step.branches if b.guard is not None)
    if isinstance(step, Offer):
        found.extend(b.guard for b in step.branches if b.guard is not None)
    if isinstance(step, Loop):
        found.append(step.count)
    if isinstance(step, Local):
        found.extend(step.args)
        if step.expr is not None:
            found.append(step.expr)
    return found


Items = tuple[tuple[str | None, TypeExpr | None], ...]
"""(name, type) of each payload item."""

_SHAPES: dict[int, tuple[Payload, tuple[str, ...], Items]] = {}
"""A payload's field names and items, by the payload's identity (kept, to check the identity): a
bounded memo of a pure function, shared by every session (a new session's default behaviour works out
nothing again for the payloads of a protocol already run)."""
SHAPE_MEMO = 4096


def _shape(payload: Payload) -> tuple[tuple[str, ...], Items]:
    """The field names of `payload` (`field_names`) and its items."""
    entry = _SHAPES.get(id(payload))
    if entry is None or entry[0] is not payload:
        if len(_SHAPES) >= SHAPE_MEMO:  # protocols loaded again and again: start afresh
            _SHAPES.clear()
        items = tuple((item.name, item.type) for item in payload)
        entry = _SHAPES[id(payload)] = (payload, field_names(payload), items)
    return entry[1], entry[2]


class PayloadTarget(Protocol):
    """What `DefaultBehaviour.sender` sends through: an endpoint."""

    @property
    def received(self) -> Mapping[str, object]: ...

    def send(self, to: str, message: object, *, label: str | None = None) -> Awaitable[None]: ...


class DefaultBehaviour:
    """Synthesises valid payloads from types and picks random valid branches; seeded, so reproducible."""

    def __init__(self, seed: int = 0, hints: ProtocolHints | None = None) -> None:
        self.seed = seed
        self._rng: random.Random | None = None
        self.hints = hints or ProtocolHints()
        self._counter = 0

    @property
    def rng(self) -> random.Random:
        """The generator, seeded with `seed` at the first draw (seeding one costs about as much as a
        short session's messages, and many roles never draw: a relay forwards what it received)."""
        rng = self._rng
        if rng is None:
            rng = self._rng = random.Random(self.seed)
        return rng

    # ---------------------------------------------------------------- payloads

    def payload(
        self, payload: Payload, env: Mapping[str, object], known: Mapping[str, object] | None = None
    ) -> dict[str, object]:
        """Field values for a payload (keys are the payload's field names, `value`... for bare types).

        A named field the role already received (`known`) keeps that value: a relay forwards what it
        was told, so every role evaluates a later `if`/`match` on it alike (SPEC §3.6).
        """
        names, items = _shape(payload)
        return dict(zip(names, self._values(items, known or {}), strict=True))

    def sender(
        self,
        payload: Payload,
        cls: Callable[..., object],
        fields: tuple[str, ...],
        endpoint: PayloadTarget,
        to: str,
        label: str,
    ) -> Callable[[], Awaitable[None]] | None:
        """A call sending what `payload` gives, built as the message class `cls` (fields `fields`)
        instead of a dict to coerce: `endpoint.send(to, message, label=label)`, with the fields
        `endpoint.received` holds at the time of the call. Made once per send step (the behaviour-driven
        runner's, with no user behaviour); it draws from the generator exactly as `payload` does. None
        when `cls`'s fields are not the payload's (then `payload` and the send's coercion decide)."""
        names, items = _shape(payload)
        if names != fields:
            return None
        send = endpoint.send
        name = items[0][0] if len(items) == 1 else None
        if name is not None:
            # The common case, `_values` inlined: one frame per message, no list.
            kind = items[0][1]
            synthesise = self.synthesise

            def one() -> Awaitable[None]:
                known = endpoint.received
                value = known[name] if name in known else synthesise(kind, name)
                return send(to, cls(value), label=label)

            return one
        values = self._values

        def each() -> Awaitable[None]:
            return send(to, cls(*values(items, endpoint.received)), label=label)

        return each

    def _values(self, items: Items, known: Mapping[str, object]) -> list[object]:
        """The value of each item, in order: a named item `known` holds keeps that value, the others
        are synthesised (the rule of `payload`, in one place)."""
        values: list[object] = []  # a loop, not a comprehension: no function made per message
        for name, kind in items:
            values.append(known[name] if name is not None and name in known else self.synthesise(kind, name))
        return values

    def synthesise(self, type_expr: TypeExpr | None, name: str | None = None) -> Any:
        """A random value of a declared type; unknown types become records or enum patterns."""
        rng = self.rng
        if isinstance(type_expr, UnionType):
            return self.synthesise(type_expr.options[0], name)
        type_name = None if type_expr is None else last_segment(type_expr.name)
        if name is not None and name in self.hints.patterns:
            # A value some `match` compares with: one of its arms, of the field's type.
            return _pattern_value(rng.choice(self.hints.patterns[name]), type_name)
        if type_expr is None:
            return self._unknown(None, name)
        args = type_expr.args
        args = type_expr.args
        if type_name in INT_NAMES:
            return rng.randint(0, 9)
        if type_name in FLOAT_NAMES:
            return round(rng.random() * 100, 3)
        if type_name in STR_NAMES:
            return f"{name or 'text'}-{rng.randint(0, 999)}"
        if type_name in BOOL_NAMES:
            # Fair coin: a boolean that decides an open loop's `break` ends it with probability 1.
            return rng.random() < 0.5
        if type_name in BYTES_NAMES or (type_name == "Vec" and args and str(args[0]) == "u8"):
            return bytes(rng.randrange(256) for _ in range(4))
        if type_name in LIST_NAMES:
            return [self.synthesise(args[0] if args else None, None) for _ in range(rng.randint(0, 3))]
        if type_name in MAP_NAMES:
            key = self.synthesise(args[0], None) if args else "key"
            value = self.synthesise(args[1], None) if len(args) > 1 else 0
            return {key if isinstance(key, str | int) else str(key): value}
        if type_name in OPTION_NAMES:
            return self.synthesise(args[0], name) if args else None
        return self._unknown(type_name, name)

    def _unknown(self, type_name: str | None, name: str | None) -> Any:
        if type_name is not None and type_name in self.hints.patterns:
            return _pattern_value(self.rng.choice(self.hints.patterns[type_name]), None)
        reads = self.hints.fields.get(name or "", frozenset())
        if reads:
            return {attr: self.rng.random() < 0.5 for attr in sorted(reads)}
        self._counter += 1
        return f"{type_name or name or 'value'}#{self._counter}"

    # ---------------------------------------------------------------- decisions

    def decide(self, step: Choose, env: Mapping[str, object]) -> str:
        """The branch the choice's expression selects when it can be evaluated (a `match` value that
        matches no arm raises `NoMatchingArm`); otherwise a random branch whose guard holds (guards it
        cannot evaluate count as holding)."""
        if step.expr is not None:
            try:
                value = evaluate(step.expr, env)
            except ExpressionError:
                pass
            else:
                branch = select_branch(value, step.branches)
                if branch is not None:
                    return branch.label
        allowed = [b.label for b in step.branches if _guard_holds(b.guard, env)]
        return self.rng.choice(allowed or [b.label for b in step.branches])

    def value(self, name: str, env: Mapping[str, object]) -> Any:
        """A value for a variable the role does not know."""
        if name in self.hints.patterns:
            return _pattern_value(self.rng.choice(self.hints.patterns[name]), None)
        return self.rng.random() < 0.5


def _pattern_value(pattern: str, type_name: str | None) -> Any:
    """The value of type `type_name` that a `match` pattern stands for: `true` is a bool, `3` an int
    (for a field of that type, or of an unknown type); other patterns are their text (enum tags)."""
    last = pattern.rsplit("::", 1)[-1]
    if type_name is None or type_name in BOOL_NAMES:
        if last in ("true", "false"):
            return last == "true"
    if type_name is None or type_name in INT_NAMES or type_name in FLOAT_NAMES:
        try:
            return float(last) if type_name in FLOAT_NAMES else int(last)
        except ValueError:
            pass
    return pattern


def _guard_holds(guard: Expr | None, env: Mapping[str, object]) -> bool:
    if guard is None:
        return True
    try:
        return bool(evaluate(guard, env))
    except ExpressionError:
        return True


class BehaviourAdapter:
    """Asks a user behaviour first and the default behaviour for whatever it does not define.

    Values the behaviour supplies (the variables of a choice the role decides, e.g. a custom loop's
    `has_more` or `if retry_requested`) are asked again at every decision, never kept from the last
    one; `async` behaviour methods are awaited.
    """

    def __init__(self, behaviour: object | None, default: DefaultBehaviour) -> None:
        self.behaviour = behaviour
        self.default = default

    def _method(self, name: str) -> Any:
        if self.behaviour is None or name.startswith("_"):
            return None
        method = getattr(self.behaviour, name, None)
        return method if callable(method) else None

    def payload(
        self, label: str, payload: Payload, env: dict[str, object], known: Mapping[str, object] | None = None
    ) -> object:
        """The payload for `label` (or an awaitable of it); `known`: the fields the role received."""
        if self.behaviour is None:  # the simulator's default path: no method to look for
            return self.default.payload(payload, env, known)
        method = self._method(label)
        if method is not None:
            return method(env)
        return self.default.payload(payload, env, known)

    async def decide(self, step: Choose, env: dict[str, object]) -> str:
        """The label to take."""
        method = self._method(f"choose_{step.choice}" if step.choice else "choose")
        if method is not None:
            return str(await _resolved(method(env)))
        await self.provide_values(step, env)
        return self.default.decide(step, env)

    async def provide_values(self, step: Choose, env: dict[str, object]) -> None:
        """Ask the behaviour for the variables of the choice's expression and guards the role does not
        know (again for those it supplied before: a decision is made afresh each time)."""
        exprs = [step.expr] if step.expr is not None else []
        exprs.extend(b.guard for b in step.branches if b.guard is not None)
        supplied = _supplied(env)
        asked: set[str] = set()
        for expr in exprs:
            for name in sorted(free_names(expr)):
                if name not in env or name in supplied:
                    env[name] = await self.value(name, env)
                    asked.add(name)
        if not asked <= supplied:
            env[SUPPLIED_KEY] = tuple(sorted(supplied | asked))

    def local(self, action: str, args: tuple[object, ...], env: dict[str, object]) -> object:
        """Run a local action (its result, or an awaitable of it)."""
        method = self._method(action)
        return method(env, *args) if method is not None else None

    async def value(self, name: str, env: dict[str, object]) -> object:
        """A value for variable `name` the role does not know (`value_<name>`, else the default)."""
        method = self._method(f"value_{name}")
        return await _resolved(method(env)) if method is not None else self.default.value(name, env)


SUPPLIED_KEY = "@behaviour_supplied"
"""The environment key naming the variables whose value came from the behaviour, not from a message,
a parameter or a `let` (not an identifier: no variable collides). It lives in the environment, not in
the adapter, so it is journaled with the values it describes: a role restarted from its checkpoint
(`--crash R@T:wipe`) with a fresh adapter still asks again for them, instead of keeping a custom loop's
condition drawn before the crash for ever."""


def _supplied(env: Mapping[str, object]) -> set[str]:
    names = env.get(SUPPLIED_KEY, ())
    return set(names) if isinstance(names, tuple) else set()


async def _resolved(value: Any) -> Any:
    """Behaviour methods may be plain or `async`: await what needs awaiting."""
    if inspect.isawaitable(value):
        return await value
    return value
