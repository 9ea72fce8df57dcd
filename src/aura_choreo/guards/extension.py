"""The guard chain as a runtime extension: every send of a session passes the chain.

Registered for every step (unannotated sends cost the default profile's 1), it checks each role's
capability manifest when its endpoint joins, runs `prepare` before each send, `commit` once the
transport accepted it, verifies receipts and merges journal deltas on receive, and stores each session's
trace in the journal: a file journal as it grows, in chunks, an in-memory one when the last of its
endpoints (in this process) leaves (SPEC §5.4, `trace_stream`).

A send the transport refuses keeps its reservation (fact ids, receipt slot): the endpoint may resend the
very same frame (`SendFailed.retry()`, `RetryMiddleware`), which then commits. It is aborted only once
it is abandoned: the next send on the same channel supersedes it, or its role leaves the session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from aura_choreo.guards.attachments import NO_ATTACHMENTS, Attachments
from aura_choreo.guards.chain import GuardChain, PreparedSend, receipt_channel
from aura_choreo.guards.leakage import Clock
from aura_choreo.guards.policy import Policy
from aura_choreo.guards.policy_limits import send_price
from aura_choreo.guards.profile import GuardProfile
from aura_choreo.guards.route import SendRoute
from aura_choreo.guards.trace_stream import TRACE_CHUNK, SessionTraces
from aura_choreo.journal import JournalStore
from aura_choreo.journal.group import BudgetRow
from aura_choreo.projection.local_types import AnnotationMap, LocalType, Offer, Recv
from aura_choreo.runtime.extensions import Extension, ExtensionRegistry, SessionContext, StepContext
from aura_choreo.runtime.session import Session
from aura_choreo.runtime.trace import Trace
from aura_choreo.verify.budgets import role_manifest

ManifestOf = Callable[[LocalType], object]
_NOT_IN_FLIGHT: Any = object()
"""What `after_send` finds for a send whose `before_send` it did not see."""
_MAX_CACHED = 4096
"""Role -> device answers kept (bounded: roles and devices of long-running processes come and go)."""


class GuardExtension(Extension):
    """Runs a `GuardChain` on every send and receive of the sessions it is registered for.

    `device_of(role, runtime_device)` names the device whose capabilities and budgets a role uses;
    by default the runtime's own (the address of the node hosting the role). `context_of(protocol,
    session)` names the budget context of a session; both are functions of their arguments (their
    answers are kept).
    """

    def __init__(
        self,
        chain: GuardChain,
        *,
        device_of: Callable[[str, str], str] = lambda _role, device: device,
        context_of: Callable[[str, str], str] = lambda protocol, _session: protocol,
        trace_chunk: int = TRACE_CHUNK,
    ) -> None:
        self.chain = chain
        self.device_of = device_of
        self.context_of = context_of
        # Sends between before_send and after_send, keyed by the identity of their step context (the
        # endpoint hands the same object to both hooks, and holds it in between, so its id stays
        # unique). A fast-path send (nothing but its flow counter charged) has no `PreparedSend`: None.
        self._in_flight: dict[int, PreparedSend | None] = {}
        # Of those, the ones the transport refused, with their step context (kept, so its id stays
        # unique while the send may still be retried).
        self._refused: dict[int, StepContext] = {}
        # The last send prepared, kept apart from `_in_flight` (its step context held, so compared by
        # identity): the endpoint calls after_send right after before_send unless the send waits on the
        # transport, so most sends never go through `_in_flight` (the next send moves it there). A
        # plain send is kept as its route and flow charge (`SendRoute.charge_plain`), with no
        # `PreparedSend` built unless it moves.
        self._last_ctx: StepContext | None = None
        self._last: PreparedSend | None = None
        self._last_route: SendRoute | None = None
        self._last_row: BudgetRow = ("", "", 0, 0)
        # Per session, the roles of the endpoints that joined, how many of them have not left, and how
        # far its trace was stored: a file journal stores it as it grows, the rest when the last
        # endpoint leaves (`SessionTraces`).
        self._traces = SessionTraces(chain.store, chunk=trace_chunk)
        self._streaming = self._traces.streaming
        # Per step of a session (the step context's first six fields: protocol, session, role, device,
        # peer, label): its annotation map, route and budget context, decided once. The annotations are
        # compared by identity first (a step hands the same map at every send): hashing a key holding
        # them cost more than the rest of the look-up.
        self._routes: dict[tuple[object, ...], tuple[AnnotationMap, SendRoute, str]] = {}
        self._merging: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}

    def on_session_start(self, ctx: SessionContext) -> None:
        self._traces.join(ctx)  # counted even if the check below refuses: on_session_end still follows
        # Which messages may carry a journal delta (a late or discarded one is received without its
        # step's annotations, so this is worked out from the local type, once per session and role).
        self._merging[(ctx.session, ctx.role)] = self._merging_receives(ctx.local_type)
        self._check_manifest(ctx)

    def on_session_end(self, ctx: SessionContext, trace: Trace, ok: bool) -> None:
        self._abandon(lambda c: c.session == ctx.session and c.role == ctx.role)
        self._merging.pop((ctx.session, ctx.role), None)
        if self._traces.leave(ctx, trace):
            self._forget_receipt_chains(ctx)

    def _forget_receipt_chains(self, ctx: SessionContext) -> None:
        """The session is over in this process: its receipt chains (one per channel) are forgotten, so
        a long-lived chain holds nothing per finished session."""
        marker = f"/{ctx.session}/"
        prefix = self.context_of(ctx.protocol, ctx.session) + marker

        def finished(channel: str) -> bool:
            return channel.startswith(prefix)

        for device in self.chain.devices.values():
            device.signer.forget(finished)
            device.verifier.forget(finished)

    def _check_manifest(self, ctx: SessionContext) -> None:
        self.chain.check_session_start(
            role=ctx.role,
            device=self.device_of(ctx.role, ctx.device),
            manifest=role_manifest(ctx.local_type, send_price(self.chain.profiles)),
            context=self.context_of(ctx.protocol, ctx.session),
            session=ctx.session,
        )

    def check_session(self, session: Session) -> None:
        """Pre-flight for a whole in-process session: every role's manifest, before any endpoint starts.

        `on_session_start` checks one endpoint as it joins, which in a distributed run is all a device
        can do. `run_session` already checks every endpoint before any role runs; this is for code
        that starts endpoints itself.
        """
        for role, local_type in session.local_types.items():
            self._check_manifest(
                SessionContext(session.protocol, session.id, role, session.address(role), local_type)
            )

    def _route(self, ctx: StepContext, key: tuple[object, ...]) -> tuple[AnnotationMap, SendRoute, str]:
        """The chain's route for this kind of step, with the sender's and receiver's devices named by
        `device_of` (which may match role families with a regular expression), and the session's budget
        context (`context_of`): decided once per step of a session (both are functions of their
        arguments)."""
        if len(self._routes) >= _MAX_CACHED:
            self._routes.clear()
        route = self.chain.route(
            ctx.protocol, ctx.role, self.device_of(ctx.role, ctx.device), ctx.peer,
            self.device_of(ctx.peer, ctx.peer_device), ctx.label, ctx.annotations,
        )  # fmt: skip
        entry = self._routes[key] = (ctx.annotations, route, self.context_of(ctx.protocol, ctx.session))
        return entry

    def register_message_guard(self, label: str, profile: GuardProfile) -> None:
        """Guard messages labelled `label` with `profile` instead of their annotations."""
        self.chain.register_message_guard(label, profile)
        self._routes.clear()

    def before_send(self, ctx: StepContext) -> Mapping[str, bytes] | None:
        if self._refused:
            self._abandon(
                lambda c: c.session == ctx.session and c.role == ctx.role and c.peer == ctx.peer
            )  # a new send on the channel: the refused one before it will not be retried
        # The step's fixed fields in one slice (cheaper than a key of attributes): the peer's device is
        # not among them, but within one session a role's device is fixed.
        key = ctx[:6]
        entry = self._routes.get(key)
        if entry is None or (entry[0] is not ctx[6] and entry[0] != ctx[6]):
            entry = self._route(ctx, key)
        _, route, context = entry
        if self._last_ctx is not None:
            self._park()  # a send not told yet (it waits on the transport)
        if route.counter_only and not self.chain.signing:
            # The fast path: only the flow counter is charged; there is nothing to commit or abort.
            if not route.pay_counter(context):
                route.refuse_counter(context, ctx.session, lambda: _step(ctx))
            self._last_ctx, self._last_route, self._last = ctx, None, None
            return None
        row = route.charge_plain(context)  # no closure naming the step: it never raises
        if row is not None:
            self._last_ctx, self._last_route, self._last_row = ctx, route, row
            return None
        prepared = route.prepare_stages(ctx.session, context, lambda: _step(ctx))
        self._last_ctx, self._last_route, self._last = ctx, None, prepared
        if prepared.attachments is NO_ATTACHMENTS:
            return None
        return prepared.attachments.to_wire() or None

    def _park(self) -> None:
        """Move the last send prepared to `_in_flight` (keyed by the identity of its step context)."""
        ctx = self._last_ctx
        assert ctx is not None
        self._last_ctx = None
        route = self._last_route
        prepared = self._last if route is None else route.plain_prepared(ctx.session, self._last_row)
        self._in_flight[id(ctx)] = prepared

    def after_send(self, ctx: StepContext, accepted: bool) -> Awaitable[None] | None:
        if not accepted:
            self._refuse(ctx)
            return None
        if self._streaming:
            self._traces.sent(ctx.session)  # a file journal stores the session's trace as it grows
        if ctx is self._last_ctx:
            self._last_ctx = None
            route = self._last_route
            if route is not None and not route.durable:
                # A plain send (the common case): only its facts to commit, the next counters taken
                # now (`GuardChain.commit_send`, inlined: this runs at every guarded send).
                metrics = self.chain.metrics
                if route.write_facts:
                    route.journal.append_next(route.facts, ctx.session, self._last_row)
                    metrics.facts_committed += route.fact_count
                metrics.sends_committed += 1
                return None
            prepared = self._last if route is None else route.plain_prepared(ctx.session, self._last_row)
        else:
            key = id(ctx)
            prepared = self._in_flight.pop(key, _NOT_IN_FLIGHT)
            if prepared is _NOT_IN_FLIGHT:
                return None
            if self._refused:
                self._refused.pop(key, None)
        metrics = self.chain.metrics
        if prepared is None:
            metrics.sends_committed += 1
            return None
        route = prepared.route
        if route.durable and self.chain.group_commits(prepared):
            # The endpoint waits for the batch holding these facts to reach the disk.
            return self._commit_durable(prepared)
        # `GuardChain.commit_send`, inlined (this runs at every guarded send).
        pending = prepared.pending
        if pending is not None:
            route.journal.append(pending, prepared.budget_rows)
            metrics.facts_committed += pending.size
        elif route.write_facts:
            route.journal.append_next(route.facts, prepared.session, prepared.budget_rows[0])
            metrics.facts_committed += route.fact_count
        metrics.sends_committed += 1
        return None

    def _refuse(self, ctx: StepContext) -> None:
        """The transport refused the send of `ctx`: it keeps what it reserved until it is retried or
        abandoned (`_abandon`)."""
        if ctx is self._last_ctx:
            self._park()
        key = id(ctx)
        if key in self._in_flight and key not in self._refused:
            self._refused[key] = ctx
            self.chain.metrics.sends_refused += 1

    async def _commit_durable(self, prepared: PreparedSend) -> None:
        await self.chain.commit_durable(prepared)

    def _abandon(self, matches: Callable[[StepContext], bool]) -> None:
        """Abort the refused sends whose step `matches`: no retry of theirs can come any more."""
        for key in [k for k, ctx in self._refused.items() if matches(ctx)]:
            del self._refused[key]
            prepared = self._in_flight.pop(key)
            if prepared is None:
                self.chain.metrics.sends_aborted += 1
            else:
                self.chain.abort(prepared)

    @property
    def attachments_only(self) -> bool:  # type: ignore[override]  # the base class's is a plain flag
        """Unsigned, a message without attachments has nothing to check or merge: the endpoint (which
        reads this when it is made) does not call `on_receive` for it. Signed, every message must
        carry a receipt, so every one is checked."""
        return not self.chain.signing

    def on_receive(self, ctx: StepContext, attachments: Mapping[str, bytes]) -> None:
        if not attachments and not self.chain.signing:
            return  # another extension wants plain messages: this one has nothing to do with them
        context = self.context_of(ctx.protocol, ctx.session)
        self.chain.accept(
            sender_device=self.device_of(ctx.peer, ctx.peer_device),
            receiver_device=self.device_of(ctx.role, ctx.device),
            attachments=Attachments.from_wire(attachments),
            role=ctx.role,
            session=ctx.session,
            channel=receipt_channel(context, ctx.session, ctx.peer, ctx.role),
            delta_allowed=self._delta_allowed(ctx),
        )

    def _delta_allowed(self, ctx: StepContext) -> bool:
        """Whether the received message may carry a journal delta: its step merges journals."""
        merging = self._merging.get((ctx.session, ctx.role))
        if merging is not None:
            return (ctx.peer, ctx.label) in merging
        return self.chain.profiles.plan_for(ctx.label, ctx.annotations).merge_journal

    def _merging_receives(self, local_type: LocalType) -> frozenset[tuple[str, str]]:
        """(sender, label) of the receives of `local_type` whose guard plan merges a journal delta.
        A message deciding an offer keeps no annotations in the receiver's local type: its branch
        labels are allowed, as the sender may have annotated it."""
        plan_for = self.chain.profiles.plan_for
        allowed: set[tuple[str, str]] = set()
        for step in local_type.iter_steps():
            if isinstance(step, Recv) and plan_for(step.label, step.annotations).merge_journal:
                allowed.add((step.from_, step.label))
            elif isinstance(step, Offer):
                allowed.update((step.from_, branch.label) for branch in step.branches)
        return frozenset(allowed)

    def record_trace(self, session: str, protocol: str, events: Iterable[object]) -> None:
        """Store a session's trace alongside the journal (sessions run with this extension registered
        are stored automatically when they end: this is for traces recorded elsewhere)."""
        self.chain.record_trace(session, protocol, events)

    def install(self, registry: ExtensionRegistry) -> ExtensionRegistry:
        """Register on every step of `registry` (and return it)."""
        registry.register_all(self)
        return registry


def _step(ctx: StepContext) -> str:
    """The step a denial names."""
    return f"step {ctx.step}: {ctx.role} -> {ctx.peer}: {ctx.label}"


def build_guard_extension(
    policy: Policy,
    *,
    clock: Clock | None = None,
    store: JournalStore | None = None,
    key_seed: bytes | None = None,
) -> GuardExtension:
    """The guard extension for sessions run under `policy` (its chain is `extension.chain`)."""
    chain = policy.build_chain(clock=clock, store=store, key_seed=key_seed)
    return GuardExtension(chain, device_of=policy.device_of, context_of=policy.context_of)


def guard_registry(
    policy: Policy,
    *,
    clock: Clock | None = None,
    store: JournalStore | None = None,
    key_seed: bytes | None = None,
) -> ExtensionRegistry:
    """A fresh extension registry holding the guard extension for `policy` (e.g. simulate's factory:
    `lambda clock: guard_registry(policy, clock=clock)`)."""
    extension = build_guard_extension(policy, clock=clock, store=store, key_seed=key_seed)
    return extension.install(ExtensionRegistry())
