"""Journal deltas are acknowledged, so journals converge over a lossy network (issue #11 item 14).

A delta that never reached the peer's journal (its message lost after the receiver left, or discarded
as a late quorum answer) is resent with the next delta to that peer until the peer's version vector,
carried back on its own deltas, shows it has the facts.
"""

from __future__ import annotations

from aura_choreo.guards import GuardExtension, build_guard_extension, parse_policy
from aura_choreo.guards.chain import Attachments
from aura_choreo.journal import Fact, FactId, FactLog, Journal, JournalStore
from aura_choreo.journal.facts import VersionVector
from aura_choreo.journal.store import MEMORY
from aura_choreo.protocol import choreography
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.testing.results import SimulationConfig
from aura_choreo.testing.simulation import simulate
from aura_choreo.transports.network import LinkModel, NetworkModel, UniformLatency

QUORUM = choreography(
    """
    protocol Quorum {
        roles: P, A[3];
        P -> A[*]: Ask;
        [@min_responses = 2]
        A[*][journal_facts = "answered", journal_merge = true] -> P: Answer;
        P -> A[*]: Fin;
        A[*][journal_merge = true] -> P: Bye;
    }
    """
)


ROUNDS = choreography(
    """
    protocol Rounds {
        roles: P, A[3];
        P[journal_merge = true] -> A[*]: Ask;
        [@min_responses = 2]
        A[*][journal_facts = "answered", journal_merge = true] -> P: Answer;
    }
    """
)


FULL = choreography(
    """
    protocol Full {
        roles: P, A[3];
        P[journal_merge = true] -> A[*]: Ask;
        A[*][journal_merge = true] -> P: Answer;
    }
    """
)


def _answered_facts(extension: GuardExtension, device: str) -> set[str]:
    return {f.id.device for f in extension.chain.device(device).journal.facts() if f.name == "answered"}


def _run(drop: float, runs: int) -> list[set[str]]:
    """Per run, the devices whose `answered` fact reached P's journal."""
    extensions: list[GuardExtension] = []

    def factory(clock: object) -> ExtensionRegistry:
        extension = build_guard_extension(parse_policy({}), clock=lambda: 0.0)
        extensions.append(extension)
        return extension.install(ExtensionRegistry())

    link = LinkModel(latency=UniformLatency(1.0, 30.0), drop=drop)
    report = simulate(
        QUORUM, runs=runs, config=SimulationConfig(network=NetworkModel(link)), extensions=factory
    )
    assert all(r.failure is None for r in report.runs), [str(r.failure) for r in report.runs]
    return [_answered_facts(e, "P") for e in extensions]


def test_the_late_quorum_answer_reaches_the_deciders_journal_with_the_next_delta() -> None:
    for reached in _run(0.0, 10):
        assert reached == {"A[0]", "A[1]", "A[2]"}


def test_journals_converge_with_ten_percent_loss() -> None:
    for reached in _run(0.1, 20):
        assert reached == {"A[0]", "A[1]", "A[2]"}


def test_late_answers_lost_after_a_session_reach_the_journal_at_a_later_exchange() -> None:
    # One guard chain (the devices' journals) across sessions: P leaves each quorum session after two
    # answers, so the third answer is lost with its delta. The senders learn it from P's version
    # vector and resend it, so after one full exchange P holds every fact.
    extension = build_guard_extension(parse_policy({}), clock=lambda: 0.0)
    config = SimulationConfig(network=NetworkModel(LinkModel(latency=UniformLatency(1.0, 30.0), drop=0.1)))

    def registry(_clock: object) -> ExtensionRegistry:
        return extension.install(ExtensionRegistry())

    quorums = simulate(ROUNDS, runs=8, config=config, extensions=registry)
    full = simulate(FULL, seed=1000, config=config, extensions=registry)
    assert quorums.ok and full.ok, [str(r.failure) for r in (*quorums.runs, *full.runs)]
    chain = extension.chain
    written = {f.id for device in ("A[0]", "A[1]", "A[2]") for f in chain.device(device).journal.facts()}
    assert len(written) == 8 * 3
    assert written <= {f.id for f in chain.device("P").journal.facts()}


def test_a_delta_is_resent_until_the_peers_version_vector_acknowledges_it() -> None:
    alice = Journal("alice", JournalStore(MEMORY))
    pending = alice.reserve(["f"], protocol="p", session="s", role="A", label="M")
    alice.commit(pending)
    first = alice.delta_for("bob")
    assert [f.id for f in first] == [FactId("alice", 1)]
    # The transport accepted it, but bob never merged it: the next delta carries it again.
    assert [f.id for f in alice.delta_for("bob")] == [FactId("alice", 1)]
    alice.note_known("bob", VersionVector({"alice": 1}))  # bob's vector came back: acknowledged
    assert list(alice.delta_for("bob")) == []


def test_the_journal_attachment_carries_the_senders_version_vector() -> None:
    fact = Fact(FactId("alice", 1), "f")
    attachments = Attachments(None, FactLog.of([fact]), VersionVector({"alice": 1, "carol": 4}))
    decoded = Attachments.from_wire(attachments.to_wire())
    assert decoded.journal_delta is not None and [f.id for f in decoded.journal_delta] == [fact.id]
    assert decoded.journal_known == VersionVector({"alice": 1, "carol": 4})
