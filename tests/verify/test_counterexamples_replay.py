"""Every counterexample the model checker reports replays through the monitors to the same stuck state.

Mismatched role sets (each role's local type taken from one of two generated protocols) give the
checker deadlocks, unspecified receptions and orphan messages to find. Each counterexample is replayed
step by step through the roles' `Monitor`s (the one interpreter of local types); every step must be
accepted, and at the end the monitors must show what the finding says: the deadlocked roles wait for
messages nobody sent, the unspecified message cannot be taken by its receiver, an orphan is left
after every role ended.
"""

from __future__ import annotations

from collections import deque

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from aura_choreo import ChoreographyError, choreography
from aura_choreo.projection.local_types import Branch, Choose, If, LocalType, Send
from aura_choreo.runtime.monitor import Monitor
from aura_choreo.verify.compile import compile_machine
from aura_choreo.verify.explore import explore
from aura_choreo.verify.findings import Finding, FindingKind

ROLES = ("A", "B", "C")


@st.composite
def _block(draw: st.DrawFn, depth: int) -> str:
    parts = []
    for n in range(draw(st.integers(min_value=1, max_value=3))):
        sender = draw(st.sampled_from(ROLES))
        receiver = draw(st.sampled_from([r for r in ROLES if r != sender]))
        label = draw(st.sampled_from(["M", "N", "Q"]))
        if depth > 0 and draw(st.booleans()):
            left, right = draw(_block(depth - 1)), draw(_block(depth - 1))
            parts.append(f"choice {sender} {{ l{depth}{n}: {{ {left} }} r{depth}{n}: {{ {right} }} }}")
        else:
            parts.append(f"{sender} -> {receiver}: {label};")
    return " ".join(parts)


def _protocol(text: str) -> dict[str, LocalType]:
    try:
        protocol = choreography(f"choreography X {{ roles: A, B, C; {text} }}")
    except ChoreographyError:
        assume(False)
        raise
    return dict(protocol.local_types())


def replay(local_types: dict[str, LocalType], finding: Finding) -> None:
    """Replay `finding`'s steps through monitors and check they end in the state it reports."""
    coins: dict[str, deque[str]] = {role: deque() for role in local_types}

    def resolver(role: str):  # type: ignore[no-untyped-def]
        def resolve(step: If) -> Branch | None:
            wanted = coins[role].popleft()
            return next(b for b in step.branches if b.label == wanted)

        return resolve

    monitors = {role: Monitor(lt, resolve_if=resolver(role)) for role, lt in local_types.items()}
    channels: dict[tuple[str, str], deque[str]] = {}
    for step in finding.steps:
        monitor = monitors[step.role]
        if step.kind == "send":
            for head in monitor.next_steps():  # a choice that branches on its first send
                if isinstance(head, Choose):
                    for branch in head.branches:
                        first = branch.body[0] if branch.body else None
                        if isinstance(first, Send) and first.to == step.peer and first.label == step.label:
                            monitor.on_choose(branch.label)
                            break
            monitor.on_send(step.peer, step.label)
            channels.setdefault((step.role, step.peer), deque()).append(step.label)
        elif step.kind == "recv":
            assert channels[(step.peer, step.role)].popleft() == step.label
            monitor.on_receive(step.peer, step.label)
        elif step.kind == "discard":
            assert channels[(step.peer, step.role)].popleft() == step.label
            assert monitor.take_discard(step.peer, step.label) or monitor.is_late(step.peer, step.label)
        elif step.kind == "tau" and step.label.startswith("choose "):
            monitor.on_choose(step.label.removeprefix("choose "))
        elif step.kind == "coin":
            coins[step.role].append(step.label)
        else:
            raise AssertionError(f"a step this replay does not know: {step.text()}")
    if finding.kind is FindingKind.DEADLOCK:
        for role in finding.roles:
            monitor = monitors[role]
            assert not monitor.done, f"{role} ended, but the checker says it is deadlocked"
            for head in monitor.next_steps():
                assert not isinstance(head, Send | Choose), f"{role} could still {head}"
            for (sender, receiver), queue in channels.items():
                if receiver == role and queue:
                    assert not monitor.accepts_receive(sender, queue[0]), f"{role} could take {queue[0]}"
    elif finding.kind is FindingKind.UNSPECIFIED_RECEPTION:
        stuck = [
            (sender, receiver, queue[0])
            for (sender, receiver), queue in channels.items()
            if queue
            and receiver in finding.roles
            and not monitors[receiver].accepts_receive(sender, queue[0])
        ]
        assert stuck, "no message at the head of a channel is refused by its receiver"
    elif finding.kind is FindingKind.ORPHAN_MESSAGE:
        assert all(m.done for m in monitors.values())
        assert any(queue for queue in channels.values())


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(_block(2), _block(2), st.lists(st.booleans(), min_size=3, max_size=3))
def test_counterexamples_replay_through_the_monitors(one: str, two: str, pick: list[bool]) -> None:
    first, second = _protocol(one), _protocol(two)
    mixed = {role: (first if mine else second)[role] for role, mine in zip(ROLES, pick, strict=True)}
    result = explore([compile_machine(lt) for lt in mixed.values()], max_states=20_000)
    replayable = (FindingKind.DEADLOCK, FindingKind.UNSPECIFIED_RECEPTION, FindingKind.ORPHAN_MESSAGE)
    for finding in result.findings:
        if finding.kind in replayable:
            replay(mixed, finding)


def test_a_deadlock_counterexample_replays_to_the_waiting_role() -> None:
    a = _protocol("A -> B: M; choice B { l: { B -> A: N; } r: { B -> C: Q; } }")
    mixed = {"A": a["A"], "B": a["B"], "C": _protocol("A -> B: M;")["C"]}
    result = explore([compile_machine(lt) for lt in mixed.values()])
    kinds = {f.kind for f in result.findings}
    assert kinds & {FindingKind.DEADLOCK, FindingKind.UNSPECIFIED_RECEPTION, FindingKind.ORPHAN_MESSAGE}
    for finding in result.findings:
        if finding.steps:
            replay(mixed, finding)
