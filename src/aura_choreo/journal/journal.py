"""A device's journal: its fact CRDT replica, persisted in a `JournalStore`."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from aura_choreo.errors import ForgedFact
from aura_choreo.journal.facts import Fact, FactId, FactLog, FactValue, VersionVector
from aura_choreo.journal.group import BudgetRow
from aura_choreo.journal.pending import FactTemplate
from aura_choreo.journal.pending import PendingFacts as PendingFacts  # re-exported
from aura_choreo.journal.signing import FactAuthors
from aura_choreo.journal.store import JournalStore


class Journal:
    """One device's replica of the fact CRDT.

    Counters are reserved when a send is prepared (so the facts can ride on that very message) and
    given back when the send is refused; facts that ride on no message take theirs when their send
    commits (`append_next`). Facts reach the store only through `commit`, `append_next` and `merge`.
    Committed reservations join the index when something reads the replica (`_settle`): until then
    their facts need not be built.

    With `authors` (a keyed journal: a deployed device, SPEC §5.6) the facts are author-signed: this
    device signs its own facts when they first go into a delta (`delta_for`; a fact no delta carries is
    never signed, so sends that merge no journal pay nothing), signatures are stored with the facts and
    travel with them, and `merge` refuses a delta holding a fact of another device that its author's
    pinned key does not sign (`journal.signing`). Without `authors` (testing, simulation, in-process
    runs, where every device lives in one process and no key is pinned) facts are neither signed nor
    checked: the journal trusts its peers' deltas as before, apart from facts under its own id.
    """

    def __init__(self, device: str, store: JournalStore, *, authors: FactAuthors | None = None) -> None:
        self.device = device
        self.store = store
        self.authors = authors
        # Indexed per device with the contiguous prefix kept up to date, so commits, merges and
        # deltas cost what they touch rather than the size of the whole journal.
        self._by_device: dict[str, dict[int, Fact]] = {}
        self._prefix: dict[str, int] = {}
        self._highest: dict[str, int] = {}
        self._count = 0
        self._lamport = 0
        # This device's counters that no fact will ever have: released behind a later reservation (the
        # counters are handed out in order and never twice), or missing below the last stored one
        # (reserved by a run that ended before committing). Its version vector counts them as known,
        # so a gap does not hold it back, nor (see `merge`) its peers' view of this device.
        self._void: set[int] = set()
        for fact in store.load_facts(device):
            self._add(fact)
        own = self._by_device.get(device, {})
        self._next_counter = max(own, default=0) + 1
        self._void_counters(c for c in range(1, self._next_counter) if c not in own)
        self._peer_known: dict[str, VersionVector] = {}
        self._unsettled: list[PendingFacts] = []
        """Committed reservations not yet in the index (every reader settles them first)."""
        self._behind = store.write_behind()
        self._run: PendingFacts | None = None
        """The last of `_unsettled` if `append_next` made it and may still grow it (see there). While
        it is set, the counters and the Lamport clock stand where it began (`_close_run`)."""
        self._run_budgets: list[BudgetRow] = []
        self._run_width = 0
        """Facts per commit of `_run` (its template's names)."""
        """The budget charges written with `_run` (the furthest of each budget: see `append_next`)."""

    def _settle(self) -> None:
        if self._unsettled:
            unsettled, self._unsettled = self._unsettled, []
            for pending in unsettled:
                for fact in pending.facts:
                    self._add(fact)

    def _add(self, fact: Fact) -> bool:
        # Runs for every committed fact: the common case (the next counter of a device) costs a few
        # dictionary operations; only a fact filling a gap walks the prefix forward.
        device, counter = fact.id.device, fact.id.counter
        facts = self._by_device.get(device)
        if facts is None:
            facts = self._by_device[device] = {}
        elif counter in facts:
            return False
        facts[counter] = fact
        self._count += 1
        if fact.lamport > self._lamport:
            self._lamport = fact.lamport
        n = self._prefix.get(device, 0)
        if counter == n + 1:
            self._prefix[device] = self._walk(device, counter, facts)
        elif device not in self._prefix:
            self._prefix[device] = 0
        if counter > self._highest.get(device, 0):
            self._highest[device] = counter
        return True

    def _walk(self, device: str, n: int, facts: Mapping[int, Fact]) -> int:
        """The end of the contiguous run of `device`'s counters known from `n` on (facts held, and this
        device's void counters)."""
        void = self._void if device == self.device else ()
        while n + 1 in facts or n + 1 in void:
            n += 1
        return n

    def _void_counters(self, counters: Iterable[int]) -> None:
        self._void.update(counters)
        if self._void:
            device = self.device
            self._prefix[device] = self._walk(
                device, self._prefix.get(device, 0), self._by_device.get(device, {})
            )

    def __contains__(self, fact_id: object) -> bool:
        self._settle()
        return isinstance(fact_id, FactId) and fact_id.counter in self._by_device.get(fact_id.device, {})

    def __len__(self) -> int:
        self._settle()
        return self._count

    @property
    def log(self) -> FactLog:
        """A snapshot of the replica as an immutable `FactLog`."""
        self._settle()
        return FactLog.of(f for facts in self._by_device.values() for f in facts.values())

    @property
    def lamport(self) -> int:
        self._close_run()
        return self._lamport

    def facts(self) -> list[Fact]:
        """Every fact, ordered by id."""
        return list(self.log)

    def version_vector(self) -> VersionVector:
        self._settle()
        return VersionVector(dict(sorted(self._prefix.items())))

    def reserve(
        self,
        names: Iterable[str],
        *,
        protocol: str,
        session: str,
        role: str,
        label: str,
        data: Mapping[str, FactValue] | None = None,
    ) -> PendingFacts:
        """Prepare one fact per name, with the next counters and Lamport times; nothing is stored yet."""
        return self.reserve_template(FactTemplate.of(tuple(names), protocol, role, label, data), session)

    def reserve_template(self, template: FactTemplate, session: str) -> PendingFacts:
        """`reserve` the facts of `template` in `session`."""
        self._close_run()
        pending = PendingFacts(self.device, self._next_counter, self._lamport + 1, session, template)
        self._next_counter += pending.size
        self._lamport += pending.size
        return pending

    def commit(self, pending: PendingFacts, budgets: Sequence[BudgetRow] = ()) -> tuple[Fact, ...]:
        """Store the pending facts (and the send's flow-budget charges) durably in one transaction and
        add them to the replica."""
        self.append(pending, budgets)
        return pending.facts

    def append(self, pending: PendingFacts, budgets: Sequence[BudgetRow] = ()) -> None:
        """`commit` without returning the facts: an in-memory store and the replica's index take the
        reservation as it is, and its facts are built only when something reads them."""
        behind = self._behind
        if behind is None:
            self.store.append_facts(self.device, pending, budgets)
        else:
            behind((self.device, pending, budgets))
        self._unsettled.append(pending)

    def append_next(self, template: FactTemplate, session: str, budget: BudgetRow) -> None:
        """`append` the facts of `template` in `session` with the next counters, reserved here: for
        facts that ride on no message (no delta carries them), so the send needed no reservation, and
        a refused send none given back.

        An in-memory store takes consecutive such commits of one kind as one run (one `PendingFacts`
        grown in place, its facts built when first read): a guarded send then adds no object to the
        journal or to its store. A run stops growing once something reads it (its facts are built),
        another reservation or a merge moves the counters, or its template or session changes; of
        each flow budget only the furthest charge is kept with it (what the store keeps anyway)."""
        run = self._run
        if run is not None and run.built is None and run.template is template and run.session == session:
            # Only the run grows: the counters and the clock catch up when it closes (`_close_run`).
            run.size += self._run_width
            budgets = self._run_budgets
            last = budgets[0]  # the run's latest budget (at 0: a list's fast index)
            # The same budget (its route's: the very same strings) in the same epoch: only the
            # furthest charge is kept (a send prepared earlier may commit later). Another budget or
            # epoch takes its place, the one before kept too: the store keeps the furthest of each.
            if budget[0] is last[0] and budget[1] is last[1] and budget[2] == last[2]:
                if budget[3] > last[3]:
                    budgets[0] = budget
            else:
                budgets.append(last)
                budgets[0] = budget
            return
        self._close_run()
        pending = PendingFacts(self.device, self._next_counter, self._lamport + 1, session, template)
        behind = self._behind
        if behind is None:  # a file store: written at once, nothing to grow
            self._next_counter += pending.size
            self._lamport += pending.size
            self.store.append_facts(self.device, pending, (budget,))
        else:
            self._run, self._run_budgets, self._run_width = pending, [budget], pending.size
            behind((self.device, pending, self._run_budgets))
        self._unsettled.append(pending)

    def _close_run(self) -> None:
        """Stop growing the open run (if any), and bring the counters and the clock past it: every
        reader of them calls this first."""
        run = self._run
        if run is not None:
            self._run = None
            self._next_counter = run.first + run.size
            self._lamport = max(self._lamport, run.lamport + run.size - 1)

    async def commit_grouped(
        self, pending: PendingFacts, budgets: Sequence[BudgetRow] = ()
    ) -> tuple[Fact, ...]:
        """`commit` through the store's group commit: returns once the batch holding these facts has
        committed (raises its write error otherwise). The replica gets them when they are on disk."""
        await self.store.group.submit(
            self.device, pending.facts, budgets, on_durable=lambda: self._unsettled.append(pending)
        )
        return pending.facts

    def release(self, pending: PendingFacts) -> None:
        """Give back the counters of a refused send (when no later reservation took counters after them)."""
        if not pending:
            return
        self._close_run()
        if pending.last == self._next_counter - 1:
            self._next_counter = pending.first
        else:  # a later reservation took the counters after these: they stay unused for good
            self._settle()
            self._void_counters(range(pending.first, pending.last + 1))

    def merge(
        self,
        delta: FactLog,
        *,
        from_device: str | None = None,
        sender_known: VersionVector | None = None,
    ) -> tuple[Fact, ...]:
        """Merge a peer's delta (union); returns the facts that were new here, now stored.

        `sender_known` is the version vector the sender sent with `delta` (`delta_for` and
        `version_vector` read together): the delta holds every fact of that vector this journal may
        lack, so a counter still missing here below it is one no fact has (a void counter of its
        device) and this journal's version vector passes it too, up to the highest fact it holds of
        that device. Without that, a gap would hold the vector back and every later delta to this
        journal would carry every fact past the gap again.

        Raises `ForgedFact` (storing nothing) when the delta holds a fact under this journal's own
        device that it does not hold (only this device writes those), or, in a keyed journal, a new
        fact whose author's signature is missing or does not verify. Facts already held are not
        checked again: they merge nothing."""
        new = tuple(f for f in delta if f.id not in self)
        claimed = [f.id for f in new if f.id.device == self.device]
        source = f"{from_device}'s journal delta" if from_device else "a journal delta"
        if claimed:
            # Ours we already hold are filtered above (a peer may echo them back); one we do not hold
            # can only be forged: nothing of a delta is stored then.
            shown = ", ".join(f"#{i.counter}" for i in claimed[:3]) + (", ..." if len(claimed) > 3 else "")
            raise ForgedFact(
                f"{source} claims facts of this device ({self.device}) that it never "
                f"wrote: {shown}; only {self.device} writes its own facts, so the delta is refused"
            )
        if self.authors is not None:
            self.authors.check(new, source)  # every one before any is stored
        self._close_run()  # before merged facts move the clock
        self.store.append_facts(self.device, new)
        for fact in new:
            self._add(fact)
        if sender_known is not None:
            for device, counter in sender_known.counters.items():
                reach = min(counter, self._highest.get(device, 0))
                if device != self.device and reach > self._prefix.get(device, 0):
                    self._prefix[device] = self._walk(device, reach, self._by_device[device])
        if from_device is not None:
            self.note_delivered(from_device, delta)
        return new

    def delta_for(self, peer: str, pending: PendingFacts | None = None) -> FactLog:
        """What `peer` is not known to have: committed facts past its version vector, plus `pending`.

        In a keyed journal every fact of it is signed: this device's own facts are signed here the
        first time a delta carries them (and keep the signature: the index holds the signed copy, and
        `pending` commits its signed facts)."""
        self._settle()
        known = self._peer_known.get(peer, VersionVector())
        unknown = []
        for device, facts in self._by_device.items():
            seen = known[device]
            if seen >= self._highest.get(device, 0):
                continue
            unknown += [fact for counter, fact in facts.items() if counter > seen]
        authors = self.authors
        if authors is None:
            return FactLog.of([*unknown, *(pending.facts if pending else ())])
        return FactLog.of([*self._sign_own(unknown), *(pending.sign(authors.sign) if pending else ())])

    def signed(self, facts: Iterable[Fact]) -> list[Fact]:
        """`facts` (committed facts of this journal) as they leave this device: in a keyed journal this
        device's own facts signed (and kept signed, as `delta_for` does), others' as merged, with their
        authors' signatures. Anything that sends facts to a peer other than a delta (anti-entropy) sends
        these: a keyed peer refuses unsigned ones. Without `authors`, `facts` as they are."""
        chosen = list(facts)
        if self.authors is None:
            return chosen
        self._settle()
        return self._sign_own(chosen)

    def _sign_own(self, facts: list[Fact]) -> list[Fact]:
        """Sign this device's unsigned facts in `facts` (in place), keeping the signed copies in the index."""
        authors, device = self.authors, self.device
        if authors is None:
            return facts
        own = self._by_device.get(device, {})
        for i, fact in enumerate(facts):
            if not fact.signature and fact.id.device == device:
                facts[i] = signed = authors.sign(fact)
                if fact.id.counter in own:
                    own[fact.id.counter] = signed
        return facts

    def note_known(self, peer: str, known: VersionVector) -> None:
        """Record `peer`'s version vector (carried back on its journal delta): the acknowledgement of
        every delta sent to it before. Until then a delta is resent, whatever the transport did."""
        self._peer_known[peer] = self._peer_known.get(peer, VersionVector()).merge(known)

    def note_delivered(self, peer: str, delta: FactLog) -> None:
        """Record that `peer` holds `delta` (it sent it to us)."""
        known = dict(self._peer_known.get(peer, VersionVector()).counters)
        for device in {f.id.device for f in delta}:
            n = known.get(device, 0)
            while FactId(device, n + 1) in delta:
                n += 1
            known[device] = n
        self._peer_known[peer] = VersionVector(known)

    def record_trace(self, session: str, protocol: str, events: Iterable[object]) -> None:
        """Store a session's trace events alongside the facts (any dataclass, mapping or `to_json()`)."""
        self.store.append_trace_events(session, protocol, (event_to_json(e) for e in events))


def event_to_json(event: object) -> Mapping[str, object]:
    """A trace event as a JSON object: via its `to_json()`, as a dataclass, or as a mapping."""
    to_json = getattr(event, "to_json", None)
    if callable(to_json):
        value = to_json()
        if isinstance(value, Mapping):
            return value
    if dataclasses.is_dataclass(event) and not isinstance(event, type):
        return dataclasses.asdict(event)
    if isinstance(event, Mapping):
        return event
    return {"event": repr(event)}
