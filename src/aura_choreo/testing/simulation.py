"""The simulation harness: run every role of a protocol on the simulated network, on virtual time.

    report = simulate(protocol, seed=1, runs=20, config=SimulationConfig(network=..., schedule=...))
    assert report.ok, report.summary()

Each run is one session on a virtual-time loop whose clock starts at zero, over a fresh
`SimulatedTransport` seeded with the run's seed, so a run depends only on (protocol, seed, config,
behaviours): the same inputs give the same trace, byte for byte, alone or in a batch. Roles run their
behaviour (or the default behaviour) through the runtime's interpreter; crashes from the fault
schedule stop a role's task, scheduled budget exhaustion makes its sends fail with `BudgetExhausted`,
a wiped crash with a restart (`Crash(keep_journal=False)`) makes a behaviour-driven role lose its
memory and resume from its journaled checkpoint (`aura_choreo.resilience`), and a run that has not
finished by the horizon is reported as stuck.

The session layer retransmits an unacknowledged frame every `RETRANSMIT_EVERY` seconds of virtual
time, without the exponential backoff it uses on real networks: the simulated network loses frames
but never congests, so backoff would only stretch the tail of a lossy run (at `--drop 0.2` about one
run in 150 of `recursive_dns` waited past its protocol's own 2 s deadline for a frame lost four times
in a row, delivered after 3 s by a doubling schedule and after 0.8 s by a constant one).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from aura_choreo.effects.stack import EffectStack, MiddlewareFactory
from aura_choreo.errors import BudgetExhausted
from aura_choreo.execution.modes import build_stack
from aura_choreo.guards.extension import GuardExtension
from aura_choreo.journal import MEMORY, Journal, JournalStore
from aura_choreo.projection.protocol_like import ProtocolSource
from aura_choreo.protocol import Protocol
from aura_choreo.resilience.checkpoint import Checkpoints
from aura_choreo.resilience.recovery import Outage, RecoveryLog, run_recoverable
from aura_choreo.runtime.behaviour import ProtocolHints
from aura_choreo.runtime.durations import format_seconds
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.extensions import Extension, ExtensionRegistry, StepContext
from aura_choreo.runtime.runner import RoleCode, run_behaviour, run_session
from aura_choreo.runtime.session import Session, start_session
from aura_choreo.runtime.trace import Trace
from aura_choreo.runtime.user_code import as_behaviour_error, user_code_errors
from aura_choreo.testing.results import (
    RunFailure,
    RunResult,
    SimulationConfig,
    SimulationReport,
    failure_of,
)
from aura_choreo.testing.virtual_time import VirtualTimeEventLoop
from aura_choreo.transports.faults import (
    BudgetExhaustion,
    Crash,
    DropMessage,
    DuplicateMessage,
    FaultEvent,
    FaultSchedule,
    Partition,
)
from aura_choreo.transports.network import NetworkState
from aura_choreo.transports.simulated import SimulatedTransport

__all__ = [
    "RETRANSMIT_EVERY",
    "ExtensionsFactory",
    "InjectedBudgetExhaustion",
    "Roles",
    "RunFailure",
    "RunResult",
    "SimulationConfig",
    "SimulationReport",
    "Simulator",
    "failure_of",
    "run_simulation",
    "simulate",
    "with_trace_check",
]

Roles = Mapping[str, RoleCode] | Callable[[str], RoleCode]
"""Role code per role, or a factory called once per role and run (fresh behaviour state each run)."""
RETRANSMIT_EVERY = 0.2
"""Seconds of virtual time between retransmissions of an unacknowledged frame (constant: no backoff)."""
ExtensionsFactory = Callable[[Callable[[], float]], ExtensionRegistry]
"""Builds a fresh extension registry for one run, given the run's clock (virtual seconds)."""


class InjectedBudgetExhaustion(Extension):
    """Refuses sends while the fault schedule says the sender's budget towards the peer is spent."""

    def __init__(self, network: NetworkState, now_ms: Callable[[], float]) -> None:
        self._network = network
        self._now_ms = now_ms

    def before_send(self, ctx: StepContext) -> None:
        peer = ctx.peer_device or ctx.peer
        if self._network.budget_exhausted(ctx.device, peer, self._now_ms()):
            raise BudgetExhausted(
                f"flow budget towards {ctx.peer} exhausted (scheduled fault)",
                role=ctx.role,
                session=ctx.session,
                step=f"step {ctx.step}",
            )


def with_trace_check(protocol: ProtocolSource, result: RunResult) -> RunResult:
    """`result`, failed with `TraceCheckFailed` if it finished but its trace departs from the protocol."""
    if result.failure is not None:
        return result
    from aura_choreo.testing.trace_check import check_trace

    report = check_trace(protocol, result.trace)
    if report.ok:
        return result
    issue = report.issues[0]
    return replace(result, failure=RunFailure("TraceCheckFailed", str(issue), issue.role))


def _to_addresses(schedule: FaultSchedule, devices: Mapping[str, str]) -> FaultSchedule:
    """Rename roles to the addresses their devices listen at (the transport sees addresses)."""
    if not devices:
        return schedule

    def at(role: str) -> str:
        return devices.get(role, role)

    renamed: list[FaultEvent] = []
    for event in schedule:
        if isinstance(event, Partition):
            renamed.append(replace(event, roles=tuple(at(r) for r in event.roles)))
        elif isinstance(event, Crash):
            renamed.append(replace(event, role=at(event.role)))
        elif isinstance(event, BudgetExhaustion):
            peer = None if event.peer is None else at(event.peer)
            renamed.append(replace(event, role=at(event.role), peer=peer))
        elif isinstance(event, DropMessage | DuplicateMessage):
            renamed.append(replace(event, src=at(event.src), dst=at(event.dst)))
    return tuple(renamed)


def _kills(crash: Crash, code: RoleCode) -> bool:
    """Whether a crash ends the role: for good, or a wipe of imperative code (no journal restores a
    Python stack); a behaviour-driven role restarts from its checkpoint (`_wipes`)."""
    return crash.restart_ms is None or (not crash.keep_journal and inspect.iscoroutinefunction(code))


def _wipes(crash: Crash, code: RoleCode) -> bool:
    """Whether the role loses its memory and restarts from its journaled checkpoint."""
    return crash.restart_ms is not None and not crash.keep_journal and not _kills(crash, code)


class _RunState:
    """Per-run bookkeeping shared by the role wrappers."""

    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}
        self.crashed: list[str] = []
        self.timers: list[asyncio.TimerHandle] = []
        self.recoveries: dict[str, RecoveryLog] = {}
        self.journals: list[JournalStore] = []


def _role_runner(
    role: str,
    code: RoleCode,
    seed: int,
    hints: ProtocolHints,
    crash: tuple[Crash, float] | None,
    state: _RunState,
    wipes: tuple[Crash, ...] = (),
) -> Callable[[Endpoint], Any]:
    """The role's code, wrapped to record its endpoint, to stop it when its node crashes for good, and
    to wipe and restart it from its checkpoint at each of `wipes` (behaviour-driven roles only)."""

    async def run(ep: Endpoint) -> Any:
        state.endpoints[role] = ep
        if crash is not None and _kills(crash[0], code):
            task = asyncio.current_task()
            loop = asyncio.get_running_loop()

            def kill() -> None:
                if task is not None and not task.done():
                    state.crashed.append(role)
                    task.cancel()

            state.timers.append(loop.call_at(crash[1] + crash[0].at_ms / 1000.0, kill))
        wiped = [w for w in wipes if _wipes(w, code)]
        if crash is not None and wiped:
            start = crash[1]
            store = JournalStore(MEMORY)
            state.journals.append(store)
            log = state.recoveries[role] = RecoveryLog([], [], [])
            outages = tuple(
                Outage(start + w.at_ms / 1000.0, start + (w.restart_ms or w.at_ms) / 1000.0) for w in wiped
            )
            checkpoints = Checkpoints(Journal(ep.device, store))
            await run_recoverable(
                ep, code, seed=seed, hints=hints, outages=outages, checkpoints=checkpoints, log=log
            )
            return ep.env
        if inspect.iscoroutinefunction(code):
            try:
                return await code(ep)
            except Exception as exc:  # the user's code raised: a failure naming the role
                failure = as_behaviour_error(exc, code, role)
                if failure is exc:
                    raise
                raise failure from exc
        middleware = () if code is None else (user_code_errors(role, code),)
        await run_behaviour(ep, code, seed, hints, middleware)
        return ep.env

    return run


def _stuck(session: Session, state: _RunState, horizon: float) -> RunFailure:
    waiting = [
        (role, ep)
        for role, ep in state.endpoints.items()
        if role not in state.crashed and not ep.monitor.done
    ]
    if not waiting:
        within = format_seconds(horizon)
        return RunFailure("Stuck", f"the session did not end within {within} of virtual time")
    role, ep = waiting[0]
    others = ", ".join(r for r, _ in waiting[1:])
    return RunFailure(
        "Stuck",
        f"still expecting {ep.monitor.expected()} after {format_seconds(horizon)} of virtual time"
        + (f" (also waiting: {others})" if others else ""),
        role,
        f"step {ep.monitor.step_count + 1}",
    )


class Simulator:
    """Runs sessions of one protocol on the simulated network; the expensive set-up is done once.

    The message classes, behaviour hints and virtual-time loop are shared by the runs (the loop's clock
    is set back to zero between them), so every run still starts from the same state: the same seed and
    configuration give the same trace whether a run is the first or the thousandth.
    """

    def __init__(
        self,
        protocol: ProtocolSource,
        *,
        roles: Roles | None = None,
        extensions: ExtensionsFactory | None = None,
        devices: Mapping[str, str] | None = None,
        effect_middleware: Iterable[MiddlewareFactory] = (),
    ) -> None:
        self.protocol = protocol
        self.roles = roles
        self.extensions = extensions
        self.devices = dict(devices or {})
        # Role effects in simulation mode (SPEC §5.8): seeded per run, keys derived from the seed,
        # storage in memory, journals the run's guard chain's; a fresh stack per run.
        self._stack = (
            build_stack(protocol, None, "simulation", middleware=effect_middleware)
            if isinstance(protocol, Protocol)
            else None
        )
        self._effect_middleware = tuple(effect_middleware)
        self._template = start_session(protocol, session_id="sim", devices=self.devices)
        self._hints = ProtocolHints.from_local_types(self._template.local_types.values())
        self._loop: VirtualTimeEventLoop | None = None

    def run(self, seed: int, config: SimulationConfig | None = None) -> RunResult:
        """One session with this seed, on virtual time starting at zero."""
        loop = self._loop
        if loop is None or not loop.reset_clock():
            if loop is not None:
                loop.close()
            loop = self._loop = VirtualTimeEventLoop()
        return loop.run_until_complete(self.run_on_current_loop(seed, config))

    def close(self) -> None:
        """Release the event loop (runs after this get a new one)."""
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    async def run_on_current_loop(self, seed: int, config: SimulationConfig | None = None) -> RunResult:
        """One session on the running loop (a `VirtualTimeEventLoop`, or it takes real time)."""
        config = config or SimulationConfig()
        loop = asyncio.get_running_loop()
        start = loop.time()
        transport = SimulatedTransport(
            config.network, _to_addresses(config.schedule, self.devices), seed=seed
        )
        transport.now_ms()  # the fault schedule's zero is now
        registry = self.extensions(loop.time) if self.extensions is not None else ExtensionRegistry()
        if any(isinstance(e, BudgetExhaustion) for e in config.schedule):
            registry.register_all(InjectedBudgetExhaustion(transport.network, transport.now_ms))
        guards = next((e for e in registry.extensions() if isinstance(e, GuardExtension)), None)
        if self._stack is not None:
            effects = self._stack.effects(guards, seed=seed)
        else:
            effects = EffectStack(seed=seed, middleware=self._effect_middleware)
        session = replace(
            self._template,
            id=f"sim-{seed}",
            extensions=registry,
            trace=Trace(),
            peer_timeout=config.peer_timeout,
            effects=effects,
        )
        state = _RunState()
        crashes = {e.role: e for e in config.schedule if isinstance(e, Crash)}
        codes: dict[str, RoleCode] = {}
        for index, role in enumerate(session.local_types):
            code = self.roles(role) if callable(self.roles) else (self.roles or {}).get(role)
            crash = crashes.get(role)
            wipes = tuple(e for e in config.schedule if isinstance(e, Crash) and e.role == role)
            codes[role] = _role_runner(
                role,
                code,
                seed + index,
                self._hints,
                None if crash is None else (crash, start),
                state,
                wipes,
            )
        failure: RunFailure | None = None
        try:
            async with asyncio.timeout(config.horizon):
                await run_session(
                    session,
                    transport,
                    codes,
                    seed=seed,
                    hints=self._hints,
                    retransmit_after=RETRANSMIT_EVERY,
                    max_retransmit_after=RETRANSMIT_EVERY,
                )
        except TimeoutError:
            failure = _stuck(session, state, config.horizon)
        except Exception as exc:  # any role's error is the run's outcome, never the harness's crash
            failure = failure_of(exc)
        finally:
            for timer in state.timers:
                timer.cancel()
            for store in state.journals:
                store.close()
        if failure is None and state.crashed:
            role = state.crashed[0]
            crash = crashes[role]
            failure = RunFailure("Crashed", f"{role} crashed at {crash.at_ms:g}ms (scheduled fault)", role)
        return RunResult(
            seed,
            session.id,
            failure,
            session.trace,
            loop.time() - start,
            transport.stats,
            tuple(state.crashed),
            tuple(
                (role, step)
                for role, log in state.recoveries.items()
                for step in log.restored_steps
            ),
        )


def run_simulation(
    protocol: ProtocolSource,
    seed: int,
    config: SimulationConfig | None = None,
    *,
    roles: Roles | None = None,
    extensions: ExtensionsFactory | None = None,
    devices: Mapping[str, str] | None = None,
) -> RunResult:
    """Run one session on a fresh virtual-time loop (for many runs, use `Simulator` or `simulate`)."""
    simulator = Simulator(protocol, roles=roles, extensions=extensions, devices=devices)
    try:
        return simulator.run(seed, config)
    finally:
        simulator.close()


def simulate(
    protocol: ProtocolSource,
    *,
    seed: int = 0,
    runs: int = 1,
    seeds: Iterable[int] | None = None,
    config: SimulationConfig | None = None,
    roles: Roles | None = None,
    extensions: ExtensionsFactory | None = None,
    devices: Mapping[str, str] | None = None,
    check: bool = False,
    on_run: Callable[[RunResult], None] | None = None,
    effect_middleware: Iterable[MiddlewareFactory] = (),
) -> SimulationReport:
    """Run `runs` sessions with seeds `seed`, `seed + 1`, ... (or exactly `seeds`).

    With `check`, each finished run's trace is also checked against the protocol (`check_trace`).
    `effect_middleware` wraps every role's effect handler (e.g. an `effects.EffectLog`).
    """
    chosen = seeds if seeds is not None else range(seed, seed + runs)
    simulator = Simulator(
        protocol, roles=roles, extensions=extensions, devices=devices, effect_middleware=effect_middleware
    )
    results = []
    try:
        for run_seed in chosen:
            result = simulator.run(run_seed, config)
            if check:
                result = with_trace_check(protocol, result)
            if on_run is not None:
                on_run(result)
            results.append(result)
    finally:
        simulator.close()
    return SimulationReport(tuple(results))
