"""One kind of guarded send, with what does not depend on the message decided once (SPEC §5.3).

A `SendRoute` is the guard chain's work for one (label, annotations, protocol, sender role and device,
receiver role and device): the label's `GuardPlan` (which stages have work), the sender's budgets and
journal, the flow cost, the fact names and data, and the last capability decision with the stamp of
the capability policy it was taken at (a grant or revoke changes the stamp, and the next send checks
again). Per send, `prepare` then only charges plain ints, reserves the facts that ride on the send
(the others take their ids when it commits) and, when signing, issues the receipt; what it charged and
reserved is a `PreparedSend` (a named tuple: it is built per send).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple, Protocol

from aura_choreo.errors import RuntimeProtocolError
from aura_choreo.guards.attachments import NO_ATTACHMENTS, Attachments
from aura_choreo.guards.capabilities import CapabilityPolicy, CapabilityRequest, VersionedLayer
from aura_choreo.guards.device import DeviceGuards
from aura_choreo.guards.flow import FlowBudget
from aura_choreo.guards.leakage import NOTHING_CHARGED, PrivacyReceipt
from aura_choreo.guards.metrics import SAMPLE, GuardMetrics
from aura_choreo.guards.profile import GuardPlan, GuardProfile
from aura_choreo.guards.send import receipt_channel
from aura_choreo.journal import FactValue, PendingFacts
from aura_choreo.journal.group import BudgetRow
from aura_choreo.journal.pending import FactTemplate
from aura_choreo.projection.local_types import AnnotationMap

Where = Callable[[], "str | None"]
"""The step a denial names, built only when one is raised."""


class RouteOwner(Protocol):
    """What a route reads from its chain at each send (so a change there applies at once)."""

    capabilities: CapabilityPolicy
    metrics: GuardMetrics
    signing: bool


class PreparedSend(NamedTuple):
    """A send every stage allowed; hand `attachments` to the transport, then commit or abort."""

    route: SendRoute
    session: str
    budget_rows: tuple[BudgetRow, ...]
    """The flow charge as the journal stores it with the send's facts: one row, (context, peer device,
    epoch, spent after this send's charge). Built when the charge is made: commit writes it as is."""
    leakage: PrivacyReceipt
    pending: PendingFacts | None
    """The send's facts, reserved when prepared, if they ride on it (in its journal delta). Facts that
    ride on nothing take their ids when the send commits (`SendRoute.write_facts`): None here."""
    attachments: Attachments

    @property
    def profile(self) -> GuardProfile:
        return self.route.profile

    @property
    def context(self) -> str:
        """The budget context charged."""
        return self.budget_rows[0][0]

    @property
    def flow(self) -> FlowBudget:
        """The flow budget as this send's charge left it (the limit is the ledger's now)."""
        context, peer, epoch, spent = self.budget_rows[0]
        limit = self.route.sender.flow.budget(context, peer).limit
        return FlowBudget(limit, spent, epoch)


_new_tuple = tuple.__new__
_clock = time.perf_counter


class SendRoute:
    """The guard chain's work for one kind of send (see the module docstring)."""

    __slots__ = (
        "_cap_context",
        "_cap_layer",
        "_cap_policy",
        "_cap_stamp",
        "_cell",
        "_cell_context",
        "_flow",
        "_owner",
        "_untimed",
        "_weight",
        "annotations",
        "check_caps",
        "cost",
        "counter_only",
        "durable",
        "fact_count",
        "facts",
        "journal",
        "label",
        "peer_device",
        "peer_role",
        "plain",
        "plan",
        "profile",
        "protocol",
        "role",
        "sender",
        "write_facts",
    )

    def __init__(
        self,
        owner: RouteOwner,
        plan: GuardPlan,
        sender: DeviceGuards,
        *,
        protocol: str,
        role: str,
        peer_role: str,
        peer_device: str,
        label: str,
        annotations: AnnotationMap = (),
    ) -> None:
        self._owner = owner
        self.annotations = annotations
        """The annotation map the route was made for (its profile may come from a registered guard)."""
        self.plan = plan
        self.profile = plan.profile
        self.counter_only = plan.counter_only
        self.plain = not (plan.charge_leakage or plan.merge_journal)
        """No leakage to charge and no delta to attach: see `prepare_plain`."""
        self.check_caps = plan.check_capabilities
        self.write_facts = plan.write_facts
        self.sender = sender
        self.journal = sender.journal
        self.durable = sender.journal.store.durable
        """Whether the sender's journal is a file (its commits cost a disk sync: sends share them)."""
        self.protocol = protocol
        self.role = role
        self.peer_role = peer_role
        self.peer_device = peer_device
        self.label = label
        self.cost = plan.profile.flow_cost
        # Every fact of this route records whom it went to and what it cost.
        data: dict[str, FactValue] = {"to": peer_role, "cost": self.cost}
        self.facts = FactTemplate.of(plan.profile.journal_facts, protocol, role, label, data)
        self.fact_count = len(self.facts.names)
        self._cap_policy: CapabilityPolicy | None = None
        self._cap_layer: VersionedLayer | None = None
        self._cap_stamp: int | None = None
        self._cap_context = ""
        self._untimed = 0
        """Sends through the fast paths before the next timed one (one in `metrics.SAMPLE`: the 1st,
        17th, 33rd, ...). A countdown rather than a count of sends: it stays a small int."""
        self._weight = 1
        """How many sends the next timed one stands for (the first only for itself)."""
        self._flow = sender.flow
        # The flow cell of the last context charged (the ledger never replaces a cell: see
        # `FlowLedger`), charged in place while the ledger's epoch stays the cell's.
        self._cell: list[int] | None = None
        self._cell_context: str | None = None

    def _spend(self, context: str) -> BudgetRow | None:
        """Pay the route's flow cost in `context` if it fits: the budget row of the charge (context,
        peer device, epoch, spent after it); None, with nothing charged, when there is no room."""
        cell, flow = self._cell, self._flow
        if cell is None or context != self._cell_context or flow.clocked or flow.manual_epoch > cell[2]:
            peer = self.peer_device
            charged = flow.spend(context, peer, self.cost)  # makes or rotates the cell as needed
            if charged is None:
                return None
            if not flow.clocked:
                self._cell, self._cell_context = flow.cell(context, peer), context
            return (context, peer, *charged)
        spent = cell[1] + self.cost
        if spent > cell[0]:
            return None
        cell[1] = spent
        return (context, self.peer_device, cell[2], spent)

    def _allowed_already(self, context: str) -> bool:
        """Whether the last decision allowed this context at the policy's current stamp (an undatable
        decision is never kept: `_cap_policy` is None then)."""
        policy = self._owner.capabilities
        return (
            policy is self._cap_policy and policy.stamp() == self._cap_stamp and context == self._cap_context
        )

    def check_capabilities(self, context: str, session: str, where: Where) -> None:
        """Raise `CapabilityDenied` unless the sender's device holds the profile's capabilities; a
        decision is taken again only when the policy's stamp (or the context) changed since the last."""
        if self._allowed_already(context):
            return
        policy = self._owner.capabilities
        stamp = policy.stamp()
        request = CapabilityRequest(self.role, self.sender.device, context, self.profile.capabilities)
        policy.check(request, session=session, step=where())
        # A decision that cannot be dated is not kept: the next send asks the policy again.
        self._cap_policy = policy if stamp is not None else None
        self._cap_stamp, self._cap_context = stamp, context
        self._cap_layer = policy.only_layer

    def prepare(self, session: str, context: str, where: Where) -> PreparedSend:
        """Run every stage in order; raise the first denial (typed) with nothing charged or written."""
        prepared = self.prepare_plain(session, context)
        return self.prepare_stages(session, context, where) if prepared is None else prepared

    def prepare_plain(self, session: str, context: str) -> PreparedSend | None:
        """`prepare` for the common case, or None (with nothing charged) when it is not that case.

        The common case: an unsigned `plain` route whose capabilities were allowed at the policy's
        current stamp and whose flow budget has room. Anything else (a decision to take, a denial,
        leakage, a delta, a receipt) is `prepare_stages`' job, from the start. Needs no `where`: it
        never raises, so the runtime builds no closure naming the step for it."""
        row = self.charge_plain(context)
        return None if row is None else self.plain_prepared(session, row)

    def plain_prepared(self, session: str, row: BudgetRow) -> PreparedSend:
        """The `PreparedSend` of a plain send in `session` whose flow charge is `row` (`charge_plain`):
        nothing else charged, no fact reserved (a plain send's facts ride on nothing: they take their
        ids when it commits), no attachments."""
        return _new_tuple(PreparedSend, (self, session, (row,), NOTHING_CHARGED, None, NO_ATTACHMENTS))

    def charge_plain(self, context: str) -> BudgetRow | None:
        """`prepare_plain`'s work (every check, the flow charge) without building the `PreparedSend`:
        the flow charge's budget row, or None (nothing charged) when it is not the common case. One
        send in `SAMPLE` goes through `_charge_plain_timed`, the same steps with the clock read
        between them."""
        owner = self._owner
        if not self.plain or owner.signing:
            return None
        untimed = self._untimed
        if not untimed:
            return self._charge_plain_timed(context)
        self._untimed = untimed - 1
        if self.check_caps:
            # `_allowed_already`, inlined (this runs at every send): a one-layer policy's stamp is its
            # layer's version, read without calling `stamp()`.
            policy = owner.capabilities
            layer = self._cap_layer
            if (
                policy is not self._cap_policy
                or context != self._cap_context
                or (policy.stamp() if layer is None else layer.version) != self._cap_stamp
            ):
                return None
        # `_spend`, inlined for the held cell (see `_spend` for when it is held and may be charged).
        cell = self._cell
        if cell is None or context != self._cell_context or self._flow.manual_epoch > cell[2]:
            row = self._spend(context)
            if row is None:
                return None  # `prepare_stages` raises `BudgetExhausted`
        else:
            spent = cell[1] + self.cost
            if spent > cell[0]:
                return None
            cell[1] = spent
            row = (context, self.peer_device, cell[2], spent)
        metrics = owner.metrics
        metrics.flow_charged += self.cost
        metrics.sends_prepared += 1
        return row

    def _charge_plain_timed(self, context: str) -> BudgetRow | None:
        """`charge_plain`'s steps with the clock read around each (one send in `SAMPLE`)."""
        weight = self._next_timed()
        owner = self._owner
        checked = started = _clock()
        if self.check_caps:
            policy = owner.capabilities
            if (
                policy is not self._cap_policy
                or context != self._cap_context
                or policy.stamp() != self._cap_stamp
            ):
                return None
            checked = _clock()
        row = self._spend(context)
        if row is None:
            return None
        paid = _clock()
        metrics = owner.metrics
        metrics.plain_timed(started, checked, paid, weight)
        metrics.flow_charged += self.cost
        metrics.sends_prepared += 1
        return row

    def prepare_stages(self, session: str, context: str, where: Where) -> PreparedSend:
        """`prepare`, every stage in turn, for any route.

        A stage the plan skips is not timed (its time is the `if` that skipped it): the clock is read
        only around stages with work."""
        owner, plan, sender, role = self._owner, self.plan, self.sender, self.role
        metrics = owner.metrics
        clock = time.perf_counter
        checked = started = clock()
        stage = "capability"
        try:
            if plan.check_capabilities:
                self.check_capabilities(context, session, where)
                checked = clock()
            stage = "flow"
            flow, cost, peer = sender.flow, self.cost, self.peer_device
            charges = NOTHING_CHARGED
            if plan.charge_leakage:
                if not flow.budget(context, peer).can_pay(cost):
                    flow.charge(context, peer, cost, role=role, session=session, step=where())  # raises
                paid = clock()
                stage = "leakage"
                leakage = self.profile.leakage
                charges = sender.leakage.charge(context, leakage, role=role, session=session, step=where())
                metrics.leakage_charged = metrics.leakage_charged + leakage
            # Every budget allowed the send: charge the flow now (nothing ran in between to change it).
            row = self._spend(context)
            if row is None:
                flow.charge(context, peer, cost, role=role, session=session, step=where())  # raises
                raise AssertionError("unreachable: the charge above cannot be paid")
            leaked = clock()
            if not plan.charge_leakage:
                paid = leaked
        except RuntimeProtocolError:
            metrics.timed(stage, clock() - started)
            metrics.denied(stage)
            raise
        metrics.flow_charged += cost
        pending = None
        attachments = NO_ATTACHMENTS
        journaled = leaked
        if plan.merge_journal:
            # The send's facts ride on it: their ids are taken now (otherwise when it commits).
            journal = sender.journal
            if plan.write_facts:
                pending = journal.reserve_template(self.facts, session)
            attachments = Attachments(None, journal.delta_for(peer, pending), journal.version_vector())
            journaled = clock()
        epoch = row[2]
        signed = journaled
        if owner.signing:
            receipt = sender.signer.issue(
                receipt_channel(context, session, role, self.peer_role), peer, epoch=epoch, cost=cost,
                layers=charges.signed_layers(),
            )  # fmt: skip
            attachments = Attachments(receipt, attachments.journal_delta, attachments.journal_known)
            metrics.receipts_issued += 1
            signed = clock()
        metrics.stages_timed(started, checked, paid, leaked, journaled, signed)
        metrics.sends_prepared += 1
        # `PreparedSend(...)` without the named tuple's Python-level `__new__`: this runs at every send.
        return _new_tuple(PreparedSend, (self, session, (row,), charges, pending, attachments))

    def pay_counter(self, context: str) -> bool:
        """`prepare` for a `counter_only` route without signing: pay the flow cost, nothing else (no
        capability, no leakage, no fact, no receipt: nothing to commit or abort afterwards). False, with
        nothing charged, when the budget has no room: `refuse_counter` then raises the denial."""
        untimed = self._untimed
        weight = 0 if untimed else self._next_timed()  # the clock is read at one send in `SAMPLE`
        if untimed:
            self._untimed = untimed - 1
        started = _clock() if weight else 0.0
        cost = self.cost
        if self._spend(context) is None:
            return False
        metrics = self._owner.metrics
        if weight:
            metrics.counter_timed(_clock() - started, weight)
        metrics.flow_charged += cost
        metrics.sends_prepared += 1
        metrics.counter_sends += 1
        return True

    def _next_timed(self) -> int:
        """Start the countdown to the next timed send; how many sends this timed one stands for."""
        self._untimed = SAMPLE - 1
        weight, self._weight = self._weight, SAMPLE
        return weight

    def refuse_counter(self, context: str, session: str, where: Where) -> None:
        """Raise the `BudgetExhausted` of a `pay_counter` that found no room (naming `where()`)."""
        metrics = self._owner.metrics
        metrics.timed("flow", 0.0)
        metrics.denied("flow")
        self.sender.flow.charge(
            context, self.peer_device, self.cost, role=self.role, session=session, step=where()
        )
        raise AssertionError("unreachable: the charge above cannot be paid")
