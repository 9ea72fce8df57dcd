"""What a generated suite tests: read off the protocol's core body once.

For every branch of every choice (and of every `if`/`match` on shared knowledge whose subject is a
payload field), the decisions that lead to it (`Force` steps along its path) and the message labels
that prove it was taken; for every guarded send, timeout block and saga, the same path. Plans are
plain data (dicts of strings, ints and lists) so that the generated test files can carry them as
literals.
"""

from __future__ import annotations

import keyword
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from aura_choreo.projection.local_types import annotation_value
from aura_choreo.protocol import Protocol
from aura_choreo.semantics import core
from aura_choreo.semantics.expressions import variables
from aura_choreo.syntax.ast import Expr, Name

Force = dict[str, object]
"""A decision on a branch's path: `{"kind": "choose", "role", "choice", "label"}` (a choice), or
`{"kind": "field", "role", "label", "field", "value"}` (the payload field a shared `match`/`if` reads)."""


@dataclass
class Plan:
    """Everything one protocol's suite tests."""

    branches: list[dict[str, object]] = field(default_factory=list)
    unforceable: list[dict[str, object]] = field(default_factory=list)
    guards: list[dict[str, object]] = field(default_factory=list)
    timeouts: list[dict[str, object]] = field(default_factory=list)
    sagas: list[dict[str, object]] = field(default_factory=list)
    sends: dict[str, dict[str, list[tuple[str, str]]]] = field(default_factory=dict)
    """role family -> label -> payload fields (name, type text) of the messages it sends."""


def family(role: str) -> str:
    """`Workers[2]` -> `Workers`: behaviours are written per role family."""
    return role.split("[", 1)[0]


def is_method_name(label: str) -> bool:
    return label.isidentifier() and not keyword.iskeyword(label) and not label.startswith("_")


def _field_sources(body: core.CoreSeq) -> dict[str, tuple[str, str]]:
    """Payload field name -> (sender, label) of the first message carrying it."""
    found: dict[str, tuple[str, str]] = {}
    for m in core.messages_in(body):
        for item in m.payload:
            if item.name and item.name not in found:
                found[item.name] = (m.sender, m.label)
    return found


def _let_names(seq: core.CoreSeq) -> set[str]:
    """Names bound inside the protocol: `let`s and counted loops' variables."""
    names: set[str] = set()
    for stmt in seq:
        if isinstance(stmt, core.Let):
            names.add(stmt.name)
        elif isinstance(stmt, core.CountedLoop) and stmt.var:
            names.add(stmt.var)
        for child in core.children(stmt):
            names |= _let_names(child)
    return names


def _labels(seq: core.CoreSeq) -> set[str]:
    return {m.label for m in core.messages_in(seq) if not m.notification}


def _sure_labels(seq: core.CoreSeq) -> set[str]:
    """Labels sent on every run through `seq`: not those of one branch of a nested choice only, nor of
    a loop, timeout or try body that may stop before them (hunt7: payment_channel's `unilateral`
    branch counted `NoContest`, which one branch of a nested `choice at Bob` sends, as proof)."""
    sure: set[str] = set()
    for stmt in seq:
        if isinstance(stmt, core.Message):
            if not stmt.notification:
                sure.add(stmt.label)
        elif isinstance(stmt, core.Choice | core.Conditional):
            branches = [_sure_labels(b.body) for b in stmt.branches]
            sure |= set.intersection(*branches) if branches else set()
        elif isinstance(stmt, core.Parallel):
            for child in core.children(stmt):
                sure |= _sure_labels(child)
    return sure


class _Planner:
    def __init__(self, protocol: Protocol):
        self.protocol = protocol
        self.plan = Plan()
        self.sources = _field_sources(protocol.body)
        self.known = set(self.sources) | set(protocol.params) | _let_names(protocol.body)
        """Names a role may learn from the protocol: payload fields, parameters, `let`s."""
        self.seen: set[tuple[str, str]] = set()
        self.everywhere = Counter(m.label for m in core.messages_in(protocol.body))
        self.in_try = 0
        """Depth of `try` bodies around the statement walked: a guard denied there is compensated."""

    def walk(self, seq: core.CoreSeq, path: list[Force]) -> None:
        for stmt in seq:
            self.stmt(stmt, path)

    def stmt(self, stmt: core.CoreStmt, path: list[Force]) -> None:
        if isinstance(stmt, core.Message):
            self.message(stmt, path)
        elif isinstance(stmt, core.Choice):
            self.choice(stmt, path)
        elif isinstance(stmt, core.Conditional):
            self.conditional(stmt, path)
        elif isinstance(stmt, core.Timeout):
            self.timeout(stmt, path)
        elif isinstance(stmt, core.Try):
            self.saga(stmt, path)
        else:
            for child in core.children(stmt):
                self.walk(child, path)

    def message(self, m: core.Message, path: list[Force]) -> None:
        if not m.notification and is_method_name(m.label):
            fields = [(item.name or "", str(item.type) if item.type else "") for item in m.payload]
            self.plan.sends.setdefault(family(m.sender), {}).setdefault(m.label, fields)
        capability = annotation_value(m.sender_annotations, "guard_capability")
        if isinstance(capability, str) and capability.strip():
            for cap in (c.strip() for c in capability.split(",") if c.strip()):
                key = (f"cap:{m.sender}", cap)
                if key not in self.seen:
                    self.seen.add(key)
                    self._guard(
                        {
                            "kind": "capability",
                            "role": m.sender,
                            "capability": cap,
                            "label": m.label,
                            "path": path,
                        }
                    )
        cost = annotation_value(m.sender_annotations, "flow_cost")
        if (
            isinstance(cost, int)
            and not isinstance(cost, bool)
            and cost > 1
            and (f"flow:{m.sender}", "") not in self.seen
        ):
            self.seen.add((f"flow:{m.sender}", ""))
            self._guard({"kind": "flow", "role": m.sender, "cost": cost, "label": m.label, "path": path})
        leakage = annotation_value(m.sender_annotations, "leakage_budget")
        charges = (
            [x for x in leakage if isinstance(x, int) and not isinstance(x, bool)]
            if isinstance(leakage, tuple)
            else []
        )
        if len(charges) == 3 and any(x > 0 for x in charges) and (f"leakage:{m.sender}", "") not in self.seen:
            self.seen.add((f"leakage:{m.sender}", ""))
            self._guard(
                {"kind": "leakage", "role": m.sender, "budget": charges, "label": m.label, "path": path}
            )

    def _guard(self, spec: dict[str, object]) -> None:
        # Inside a `try` body the denial fails the step and the saga compensates (the run itself
        # succeeds): the harness then expects the compensation, not a failed run (hunt7:
        # payment_channel's `PublishFunding`).
        self.plan.guards.append({**spec, "in_try": True} if self.in_try else spec)

    def _branch_labels(
        self, branches: tuple[core.CoreBranch, ...], index: int
    ) -> tuple[list[str], list[str]]:
        """Labels only this branch sends (on every run through it), and labels only the other branches
        send (and nothing else)."""
        mine = _sure_labels(branches[index].body)
        others: set[str] = set()
        inside: Counter[str] = Counter()
        for i, b in enumerate(branches):
            inside.update(m.label for m in core.messages_in(b.body))
            if i != index:
                others |= _labels(b.body)
        only_here = {label for label in others if self.everywhere[label] == inside[label]}
        return sorted(mine - others), sorted((others - mine) & only_here)

    def choice(self, c: core.Choice, path: list[Force]) -> None:
        for index, branch in enumerate(c.branches):
            force: Force = {"kind": "choose", "role": c.decider, "choice": c.name, "label": branch.label}
            forces = [force]
            if c.expr is not None and not self._supplied_by_decider(c.expr):
                # A `match`/`if` only its decider can evaluate: the monitor checks that the choice
                # agrees with the value, so forcing the choice alone fails whenever the behaviours
                # send another value (hunt7: mqtt_qos2_publish's `match reason`).
                field = self._field_force(c.expr, branch)
                if field is None:
                    self._unforceable(c.construct, c.name, branch.label)
                    self.walk(branch.body, path)
                    continue
                forces = [field, force]
            seen, absent = self._branch_labels(c.branches, index)
            self._add_branch(c.construct, c.name, branch.label, [*path, *forces], seen, absent, c.decider)
            self.walk(branch.body, [*path, *forces])

    def _supplied_by_decider(self, expr: Expr) -> bool:
        """Whether only the decider's behaviour can give `expr` a value (a custom loop's
        `has_more_frames`): no payload field, `let` or parameter names it, so the monitor cannot check
        the choice against it and forcing the choice alone takes the branch. Left unforced, a custom
        loop's guard test ran on whatever the default behaviour drew, and sensor_fusion's loop ran
        zero rounds, so its flow-budget denial was never reached."""
        names = set(variables(expr))
        return bool(names) and not names & self.known

    def _field_force(self, expr: object, branch: core.CoreBranch) -> Force | None:
        """The payload field value that selects `branch` of a `match`/`if` on `expr`, if `expr` is a
        payload field a behaviour sends and the branch has a value (not `_`)."""
        subject = expr.name if isinstance(expr, Name) else None
        source = self.sources.get(subject) if subject else None
        value: object = branch.pattern if branch.pattern not in (None, "_") else None
        if branch.label in ("then", "else") and branch.pattern is None:
            value = branch.label == "then"
        if source is None or value is None:
            return None
        return {"kind": "field", "role": source[0], "label": source[1], "field": subject, "value": value}

    def _unforceable(self, construct: str, choice: str, label: str) -> None:
        self.plan.unforceable.append(
            {
                "construct": construct,
                "choice": choice,
                "label": label,
                "why": "its condition is not a payload field a behaviour sends",
            }
        )

    def conditional(self, c: core.Conditional, path: list[Force]) -> None:
        for index, branch in enumerate(c.branches):
            seen, absent = self._branch_labels(c.branches, index)
            force = self._field_force(c.expr, branch)
            if force is None:
                self._unforceable(c.construct, c.name, branch.label)
                self.walk(branch.body, path)
                continue
            self._add_branch(c.construct, c.name, branch.label, [*path, force], seen, absent, "")
            self.walk(branch.body, [*path, force])

    def _add_branch(
        self,
        construct: str,
        choice: str,
        label: str,
        path: list[Force],
        seen: list[str],
        absent: list[str],
        decider: str,
    ) -> None:
        self.plan.branches.append(
            {
                "construct": construct,
                "choice": choice,
                "label": label,
                "decider": decider,
                "path": path,
                "seen": seen,
                "absent": absent,
            }
        )

    def timeout(self, t: core.Timeout, path: list[Force]) -> None:
        first = next(iter(core.messages_in(t.body)), None)
        if first is not None:
            self.plan.timeouts.append(
                {
                    "deadline_ms": t.deadline_ms,
                    "role": first.sender,
                    "label": first.label,
                    "waiter": first.receiver,
                    "path": path,
                }
            )
        self.walk(t.body, path)
        self.walk(t.alt, path)

    def saga(self, t: core.Try, path: list[Force]) -> None:
        first = next((m for m in core.messages_in(t.body) if is_method_name(m.label)), None)
        if first is not None:
            self.plan.sagas.append(
                {"coordinator": t.coordinator, "role": first.sender, "label": first.label, "path": path}
            )
        self.in_try += 1
        self.walk(t.body, path)
        self.in_try -= 1
        self.walk(t.comp, path)


def plan_protocol(protocol: Protocol) -> Plan:
    """The tests one protocol's suite holds."""
    planner = _Planner(protocol)
    planner.walk(protocol.body, [])
    _dedupe(planner.plan)
    return planner.plan


def _dedupe(plan: Plan) -> None:
    """A choice inside a loop or a family expansion appears several times: test each label once."""
    kept: list[dict[str, object]] = []
    keys: set[tuple[object, object]] = set()
    for item in plan.branches:
        key = (item["choice"], item["label"])
        if key not in keys:
            keys.add(key)
            kept.append(item)
    plan.branches = kept


def iter_items(plan: Plan) -> Iterator[dict[str, object]]:
    yield from plan.branches
    yield from plan.guards
    yield from plan.timeouts
    yield from plan.sagas
