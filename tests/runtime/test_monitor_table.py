"""The monitor's compiled transition tables agree with interpreting the local type step by step.

A monitor with tables (the default) and one with `compiled=False` are fed the same events (random
walks of whole protocols: the corpus, the examples and generated loops); after every event they
must report the same next steps, verdicts and violations, and answer every probe (would this send
or receipt be accepted, which steps receive from whom) alike.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aura_choreo import choreography
from aura_choreo.errors import ProtocolViolation
from aura_choreo.projection.local_types import LocalType, Loop, Offer, Recv, Send, iter_steps
from aura_choreo.protocol import Protocol
from aura_choreo.runtime.catalog import MessageCatalog
from aura_choreo.runtime.monitor import Monitor, TryToken, describe
from aura_choreo.runtime.monitor_table import RECV, SEND, MonitorTables, compile_seq
from aura_choreo.testing import walk as walk_module
from conftest import loadable_corpus_protocols


def test_a_send_followed_by_a_receive_moves_on_in_the_table() -> None:
    seq = (Send("B", "Ping"), Recv("B", "Pong"), Loop(count=None, body=()))  # type: ignore[arg-type]
    table = compile_seq(seq)
    assert table[0] == {(SEND, "B", "Ping"): 1}
    assert table[1] == {(RECV, "B", "Pong"): ~2}  # a compound step follows: the monitor settles it
    assert table[2] is None
    assert compile_seq((Recv("A", "X"),)) == ({(RECV, "A", "X"): ~1},)  # the end of the sequence


def test_tables_are_compiled_once_per_sequence_and_shared() -> None:
    tables = MonitorTables()
    seq = (Send("B", "Ping"), Recv("B", "Pong"))
    assert tables.of(seq) is tables.of(seq)
    assert tables.of(tuple(seq)) is tables.of(seq)  # tuple() of a tuple is the same object


def test_sessions_of_a_protocol_share_the_catalogs_tables() -> None:
    protocol = choreography("choreography P { roles: A, B; A -> B: Ping; B -> A: Pong; }")
    one, two = protocol.session(), protocol.session()
    assert isinstance(one.catalog, MessageCatalog)
    assert one.catalog.monitor_tables is two.catalog.monitor_tables


def test_a_counted_loop_runs_its_rounds_from_the_table() -> None:
    protocol = choreography(
        "choreography P { roles: A, B; loop (count: 3) { A -> B: Ping; B -> A: Pong; } A -> B: Bye; }"
    )
    m = Monitor(protocol.local_type("A"))
    for _ in range(3):
        m.on_send("B", "Ping")
        assert m.sequential and m.expects_from("B")
        m.on_receive("B", "Pong")
    with pytest.raises(ProtocolViolation) as caught:
        m.on_send("B", "Ping")  # a fourth round
    assert (caught.value.expected, caught.value.step) == ("send Bye to B", "step 7")
    m.on_send("B", "Bye")
    assert m.done


def test_a_wrong_receipt_in_table_mode_names_the_expected_step() -> None:
    protocol = choreography("choreography P { roles: A, B; A -> B: Ping; A -> B: More; }")
    m = Monitor(protocol.local_type("B"), session="s1")
    m.on_receive("A", "Ping")
    with pytest.raises(ProtocolViolation) as caught:
        m.on_receive("A", "Ping")
    error = caught.value
    assert (error.role, error.session, error.step) == ("B", "s1", "step 2")
    assert (error.expected, error.got) == ("receive More from A", "receive Ping from A")


# ---------------------------------------------------------------------- compiled == interpreted


def _alphabet(local_type: LocalType) -> list[tuple[str, str]]:
    """Every (peer, label) the local type sends to or receives from, plus one it never uses."""
    found: set[tuple[str, str]] = {("Nobody", "Nothing")}
    for step in iter_steps(local_type.steps):
        if isinstance(step, Send):
            found.add((step.to, step.label))
        elif isinstance(step, Recv):
            found.add((step.from_, step.label))
        elif isinstance(step, Offer):
            found.update((step.from_, b.label) for b in step.branches)
    return sorted(found)


def _outcome(call: Any, *args: Any) -> object:
    try:
        result = call(*args)
    except ProtocolViolation as exc:
        return ("violation", exc.role, exc.expected, exc.got, exc.step)
    if isinstance(result, tuple):  # (thread, step) from match_send: threads are each monitor's own
        return result[1]
    return result


class TwinMonitor(Monitor):
    """A table-driven monitor that applies every event to an interpreting twin and compares them."""

    def __init__(self, local_type: LocalType, **options: Any) -> None:
        super().__init__(local_type, **options)
        self.twin = Monitor(local_type, session=self.session, env=self.env, compiled=False)
        self.alphabet = _alphabet(local_type)
        self.events = 0
        self.compare()

    def compare(self) -> None:
        twin = self.twin
        where = f"{self.role} after {self.events} events"
        assert self.expected() == twin.expected(), where
        assert [describe(h) for h in self.next_steps()] == [describe(h) for h in twin.next_steps()], where
        assert (self.step_count, self.done, self.sequential) == (twin.step_count, twin.done, twin.sequential)
        assert self.in_order() == twin.in_order() == (self.sequential and not self.drops_pending), where
        assert (self.discards, self.late) == (twin.discards, twin.late), where
        for peer, label in self.alphabet:
            for probe in ("match_send", "accepts_receive", "expects_from", "receivable_later"):
                args = (peer,) if probe == "expects_from" else (peer, label)
                mine = _outcome(getattr(self, probe), *args)
                assert mine == _outcome(getattr(twin, probe), *args), f"{where}: {probe}{args}"
            if not self.accepts_receive(peer, label) and not self.owes(peer, label):
                # A receipt no step takes: both refuse it the same way (and nothing changes).
                refused = _outcome(Monitor.on_receive, self, peer, label)
                assert refused == _outcome(Monitor.on_receive, twin, peer, label), where
        head = self.plain_head(self.root)
        assert head is None or head is twin.plain_head(twin.root) or twin._dirty, where

    def _both(self, name: str, *args: Any) -> Any:
        twin_args = tuple(self._twin_token(a) for a in args)
        mine = _outcome(getattr(Monitor, name), self, *args)
        assert mine == _outcome(getattr(Monitor, name), self.twin, *twin_args), name
        self.events += 1
        self.compare()
        if isinstance(mine, tuple) and mine[:1] == ("violation",):
            raise ProtocolViolation(self.role, str(mine[2]), str(mine[3]), step=str(mine[4]))
        return mine

    def _twin_token(self, arg: Any) -> Any:
        if isinstance(arg, TryToken):
            return self.twin.tries[self.tries.index(arg)]
        return arg

    def on_send(self, to: str, label: str, message: object = None) -> Any:
        return self._both("on_send", to, label, message)

    def on_receive(self, from_: str, label: str, message: object = None) -> Any:
        return self._both("on_receive", from_, label, message)

    def on_choose(self, label: str, step: Any = None) -> Any:
        return self._both("on_choose", label, step)  # the step is the same object in both twins

    def on_try_outcome(self, token: TryToken, committed: bool) -> None:
        self._both("on_try_outcome", token, committed)

    def take_discard(self, sender: str, label: str) -> bool:
        mine = Monitor.take_discard(self, sender, label)
        assert mine == Monitor.take_discard(self.twin, sender, label)
        return mine


def _run_twins(monkeypatch: pytest.MonkeyPatch, protocol: Protocol, seeds: range | list[int]) -> None:
    monkeypatch.setattr(walk_module, "Monitor", TwinMonitor)
    for seed in seeds:
        walk_module.walk(protocol.local_types(), seed, max_steps=400, settle_after=100)


CORPUS = loadable_corpus_protocols()


@pytest.mark.parametrize(("name", "protocol"), CORPUS, ids=[n for n, _ in CORPUS])
def test_tables_agree_with_interpretation_on_walks_of_the_corpus(
    monkeypatch: pytest.MonkeyPatch, name: str, protocol: Protocol
) -> None:
    _run_twins(monkeypatch, protocol, range(2))


@st.composite
def _protocols(draw: st.DrawFn) -> str:
    count = draw(st.integers(min_value=0, max_value=3))
    inner = draw(
        st.sampled_from(["A -> B: Ping; B -> A: Pong;", "A -> B: Ping;", "B -> A: Pong; A -> B: Ack;"])
    )
    tail = draw(st.sampled_from(["", "A -> C: Bye;", "parallel { A -> B: Left; | C -> B: Right; }"]))
    return f"""
    choreography L {{
        roles: A, B, C;
        loop (count: {count}) {{ {inner} }}
        rec R {{
            A -> B: Ask;
            choice at B {{ Again: {{ B -> A: More; continue R; }} Stop: {{ B -> A: Done; }} }}
        }}
        loop (decides: A) {{ A -> C: Work(v: u32); if v > 4 {{ C -> B: Big; }} else {{ C -> B: Small; }} }}
        {tail}
    }}
    """


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_protocols(), st.integers(min_value=0, max_value=1000))
def test_tables_agree_with_interpretation_on_generated_loops_and_choices(text: str, seed: int) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _run_twins(monkeypatch, choreography(text), [seed])


def test_tables_agree_with_interpretation_while_a_choice_is_pending() -> None:
    protocol = choreography(
        """
        choreography TwinChoices {
            roles: L, A, B;
            parallel {
                choice L { ok: { L -> A: Go; } no: { L -> A: Stop; } }
            |
                choice L { ok: { L -> B: Go; } no: { L -> B: Stop; } }
            }
            L -> A: Last;
        }
        """
    )
    monitor = TwinMonitor(protocol.local_types()["L"])
    monitor.on_choose("ok")  # either branch's: pending until the send says which
    monitor.on_choose("no")
    monitor.on_send("B", "Go")
    monitor.on_send("A", "Stop")
    monitor.on_send("A", "Last")
    assert monitor.done and monitor.twin.done
