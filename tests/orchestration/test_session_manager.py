"""`SessionManager` (SPEC §8.5): the lifecycle state machine over every pair of states, participants,
the limit, stale cleanup, metrics, and persistence in the journal across a SIGKILL."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo.errors import PeerTimeout
from aura_choreo.journal import FactId, Journal, JournalStore
from aura_choreo.orchestration.session_states import (
    InvalidTransition,
    SessionConfig,
    SessionError,
    SessionLimitExceeded,
    SessionRecord,
    SessionState,
    UnknownParticipant,
    UnknownSession,
)
from aura_choreo.orchestration.sessions import SessionManager
from aura_choreo.protocol import choreography
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.runtime.runner import run_session
from aura_choreo.testing.virtual_time import run_virtual
from aura_choreo.transports.inmemory import InMemoryTransport

S = SessionState
ALLOWED = {
    # Written out by hand (not read from the module) so a change to the table fails here.
    (S.CREATED, S.ACTIVE), (S.CREATED, S.FAILED), (S.CREATED, S.TIMED_OUT), (S.CREATED, S.CANCELLED),
    (S.ACTIVE, S.COMPLETED), (S.ACTIVE, S.FAILED), (S.ACTIVE, S.TIMED_OUT), (S.ACTIVE, S.CANCELLED),
}  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def manager(**options: object) -> SessionManager:
    return SessionManager(Journal("dev", JournalStore(":memory:")), **options)  # type: ignore[arg-type]


def in_state(m: SessionManager, state: SessionState) -> str:
    """A fresh session brought to `state` along an allowed path."""
    session = m.create("P", ["A", "B"]).id
    if state is S.CREATED:
        return session
    if state is S.COMPLETED or state is S.ACTIVE:
        m.join(session, "A")
        m.join(session, "B")  # every participant joined: active
        if state is S.COMPLETED:
            m.end(session)
        return session
    m.end(session, state, "why")
    return session


@pytest.mark.parametrize(("current", "wanted"), list(itertools.product(S, S)))
def test_every_pair_of_states_is_allowed_or_refused_with_a_typed_error(
    current: SessionState, wanted: SessionState
) -> None:
    m = manager()
    session = in_state(m, current)
    assert m.get(session).state is current
    facts_before = len(m.journal)
    if (current, wanted) in ALLOWED:
        assert m.transition(session, wanted, "test").state is wanted
        assert len(m.journal) == facts_before + 1
    else:
        with pytest.raises(InvalidTransition) as refused:
            m.transition(session, wanted)
        error = refused.value
        assert (error.current, error.wanted, error.session) == (current, wanted, session)
        assert m.get(session).state is current, "a refused move changes nothing"
        assert len(m.journal) == facts_before, "and journals nothing"
        assert m.metrics.refused_transitions == 1
    assert wanted.terminal == (wanted not in (S.CREATED, S.ACTIVE))


def test_join_activates_when_every_participant_is_in_and_checks_roles() -> None:
    m = manager()
    record = m.create("P", ["A", "B", "A"])
    assert record.participants == ("A", "B") and record.state is S.CREATED
    with pytest.raises(UnknownParticipant):
        m.join(record.id, "Mallory")
    assert m.join(record.id, "A", "dev-a").state is S.CREATED
    with pytest.raises(SessionError, match="already joined"):
        m.join(record.id, "A")
    joined = m.join(record.id, "B")
    assert joined.state is S.ACTIVE and dict(joined.joined) == {"A": "dev-a", "B": "dev"}
    left = m.leave(record.id, "A")
    assert dict(left.joined) == {"B": "dev"} and left.left == {"A"} and left.state is S.ACTIVE
    with pytest.raises(SessionError, match="cannot join again"):
        m.join(record.id, "A")
    with pytest.raises(SessionError, match="has not joined"):
        m.leave(record.id, "A")
    m.end(record.id, S.FAILED, "B crashed")
    with pytest.raises(InvalidTransition):
        m.join(record.id, "A")
    with pytest.raises(UnknownSession):
        m.join("nope", "A")


def test_bad_arguments_are_typed_errors() -> None:
    m = manager()
    with pytest.raises(SessionError):
        m.create("", ["A"])
    with pytest.raises(SessionError):
        m.create("P", [])
    with pytest.raises(SessionError):
        m.create("P", "AB")  # a string is not a list of roles
    with pytest.raises(SessionError):
        m.create(42, ["A"])
    s = m.create("P", ["A"], SessionConfig(session_id="fixed")).id
    with pytest.raises(SessionError, match="already exists"):
        m.create("P", ["A"], SessionConfig(session_id="fixed"))
    with pytest.raises(SessionError, match="not an outcome"):
        m.end(s, S.ACTIVE)
    with pytest.raises(SessionError, match="only an ended session"):
        m.forget(s)


def test_the_limit_counts_open_sessions_only() -> None:
    m = manager(max_sessions=2)
    a = m.create("P", ["A"]).id
    m.create("P", ["A"])
    with pytest.raises(SessionLimitExceeded):
        m.create("P", ["A"])
    assert m.metrics.refused_limit == 1 and len(m.sessions()) == 2
    m.cancel(a)
    m.create("P", ["A"])
    assert m.open_count == 2 and m.metrics.peak_open == 2


def test_stale_and_overdue_sessions_time_out_and_fresh_ones_do_not() -> None:
    clock = Clock()
    m = manager(clock=clock, stale_after=60.0)
    idle = m.create("P", ["A", "B"]).id
    overdue = m.create("P", ["A"], SessionConfig(timeout=30.0, stale_after=1e9)).id
    busy = m.create("P", ["A", "B"]).id
    finished = m.create("P", ["A"]).id
    m.join(finished, "A")
    m.end(finished)
    clock.now += 31
    assert [r.id for r in m.cleanup_stale()] == [overdue]
    clock.now += 20
    m.join(busy, "A")  # activity resets the idle clock
    clock.now += 20  # idle: 71 s without a change; busy: 20 s
    expired = m.cleanup_stale()
    assert [r.id for r in expired] == [idle] and "no activity" in expired[0].reason
    assert m.get(busy).state is S.CREATED and m.get(finished).state is S.COMPLETED
    assert m.get(overdue).state is S.TIMED_OUT and "30 s timeout" in m.get(overdue).reason
    assert m.metrics.stale_timed_out == 2 and m.metrics.ended == {"completed": 1, "timed_out": 2}


def test_a_reopened_manager_lists_its_sessions_and_ignores_other_devices_facts(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with SessionManager.open(path, "dev") as m:
        a = in_state(m, S.ACTIVE)
        b = in_state(m, S.CANCELLED)
        c = in_state(m, S.COMPLETED)
        m.forget(c)
        m.leave(a, "B")
        before = m.sessions()
        # A peer's journal, merged in by anti-entropy, holds its own session facts: not ours.
        peer = Journal("peer", JournalStore(":memory:"))
        SessionManager(peer).create("P", ["X"])
        m.journal.merge(peer.log)
    with SessionManager.open(path, "dev") as again:
        assert again.sessions() == before
        assert [r.id for r in again.sessions()] == [a, b]
        assert again.get(a).left == {"B"} and again.metrics.restored == 2
        again.end(a)  # the restarted manager carries on with fresh fact ids
        assert again.get(a).state is S.COMPLETED
    with SessionManager.open(path, "dev") as third:
        assert third.get(a).state is S.COMPLETED


def test_a_damaged_fact_is_skipped_on_replay(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with SessionManager.open(path, "dev") as m:
        s = in_state(m, S.ACTIVE)
        pending = m.journal.reserve(
            ["session.state"], protocol="P", session=s, role="", label="state", data={"state": "exploded"}
        )
        m.journal.commit(pending)
    with SessionManager.open(path, "dev") as again:
        assert again.get(s).state is S.ACTIVE and again.metrics.replay_skipped == 1


CHILD = textwrap.dedent(
    """
    import sys, time
    from aura_choreo.orchestration.sessions import SessionManager
    from aura_choreo.orchestration.session_states import SessionConfig, SessionState as S
    m = SessionManager.open(sys.argv[1], "dev")
    for i, state in enumerate(["created", "active", "completed", "failed", "cancelled", "active"]):
        s = m.create("P", ["A", "B"], SessionConfig(session_id=f"s{i}")).id
        if state != "created":
            m.join(s, "A")
            m.join(s, "B")
        if state not in ("created", "active"):
            m.end(s, S(state), "child")
    print("ready", flush=True)
    while True:  # keep writing until killed: a change may be cut anywhere
        s = m.create("P", ["A"]).id
        m.join(s, "A")
        m.end(s)
        m.forget(s)
        print("again", flush=True)
    """
)


def test_a_process_killed_with_sigkill_restarts_with_its_sessions_last_states(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        for _ in range(3):  # let it write a few more changes, then kill it mid-stream
            assert child.stdout.readline().strip() == "again"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with SessionManager.open(path, "dev") as restarted:
        states = {r.id: r.state for r in restarted.sessions() if r.id.startswith("s")}
        assert states == {
            "s0": S.CREATED, "s1": S.ACTIVE, "s2": S.COMPLETED, "s3": S.FAILED, "s4": S.CANCELLED,
            "s5": S.ACTIVE,
        }  # fmt: skip
        # The loop's sessions were each forgotten in the end; one cut short may still be listed,
        # in whatever state its last committed fact says.
        assert len(restarted.sessions()) <= 7
        assert restarted.metrics.replay_skipped == 0
        restarted.end("s1")
        assert restarted.get("s1").state is S.COMPLETED
        assert FactId("dev", len(restarted.journal)) in restarted.journal  # counters stayed dense


_RUNS = itertools.count()
OPS = st.lists(
    st.tuples(
        st.sampled_from(["create", "join", "leave", "end", "start", "cleanup", "forget", "tick"]),
        st.integers(0, 5),
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(list(S)),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPS)
def test_random_operations_replay_to_the_same_sessions(
    tmp_path: Path, ops: list[tuple[str, int, str, S]]
) -> None:
    path = tmp_path / f"j{next(_RUNS)}.db"
    clock = Clock()
    with SessionManager.open(path, "dev", clock=clock, max_sessions=4, stale_after=50.0) as m:
        ids: list[str] = []
        for op, index, role, state in ops:
            target = ids[index % len(ids)] if ids else "none"
            before = {r.id: r for r in m.sessions()}
            try:
                if op == "create":
                    ids.append(m.create("P", ["A", "B"]).id)
                elif op == "join":
                    m.join(target, role)
                elif op == "leave":
                    m.leave(target, role)
                elif op == "end":
                    m.end(target, state)
                elif op == "start":
                    m.start(target)
                elif op == "cleanup":
                    m.cleanup_stale()
                elif op == "forget":
                    m.forget(target)
                else:
                    clock.now += 30
            except SessionError:
                assert {r.id: r for r in m.sessions()} == before, "a refused operation changes nothing"
            for record in m.sessions():
                _check_invariants(record)
        assert m.open_count <= 4
        listed = m.sessions()
    with SessionManager.open(path, "dev") as again:
        assert again.sessions() == listed


def _check_invariants(record: SessionRecord) -> None:
    assert not (set(record.joined) & record.left)
    assert set(record.joined) | record.left <= set(record.participants)
    assert record.created_at <= record.updated_at
    assert bool(record.reason) <= record.state.terminal


PING = choreography("choreography P { roles: A, B; A -> B: Ping(n: i64); B -> A: Pong(n: i64); }")


def test_running_records_how_a_real_session_ended() -> None:
    async def a_ok(ep: Endpoint) -> None:
        await ep.send("B", ep.message("Ping", n=1))
        await ep.recv("B")

    async def b_ok(ep: Endpoint) -> None:
        await ep.recv("A")
        await ep.send("A", ep.message("Pong", n=2))

    async def b_silent(ep: Endpoint) -> None:
        await ep.recv("A")
        await asyncio.sleep(3600)

    async def b_broken(ep: Endpoint) -> None:
        await ep.recv("A")
        raise RuntimeError("disk full")

    async def main() -> dict[str, SessionRecord]:
        m = manager(clock=asyncio.get_running_loop().time)
        seen = {}
        for name, b in (("ok", b_ok), ("silent", b_silent), ("broken", b_broken)):
            session = PING.session(peer_timeout=2.0)
            try:
                with m.running(PING, PING.roles, SessionConfig(session_id=name), device="dev-1") as record:
                    assert record.state is S.ACTIVE and dict(record.joined) == {"A": "dev-1", "B": "dev-1"}
                    await run_session(session, InMemoryTransport(), {"A": a_ok, "B": b})
            except (PeerTimeout, RuntimeError):
                pass
            seen[name] = m.get(name)
        task = asyncio.ensure_future(_cancelled_run(m))
        await asyncio.sleep(1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        seen["cancelled"] = m.get("cancelled")
        return seen

    seen = run_virtual(main())
    assert seen["ok"].state is S.COMPLETED
    assert seen["silent"].state is S.TIMED_OUT and "PeerTimeout" in seen["silent"].reason
    assert seen["broken"].state is S.FAILED and "disk full" in seen["broken"].reason
    assert seen["cancelled"].state is S.CANCELLED


async def _cancelled_run(m: SessionManager) -> None:
    with m.running(PING, PING.roles, SessionConfig(session_id="cancelled")):
        await asyncio.sleep(3600)
