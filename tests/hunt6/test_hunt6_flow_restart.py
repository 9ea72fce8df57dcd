"""A restarted device forgets what it spent of its flow budget, found by hunt6 (SIGKILL sweeps).

SPEC §5.3: a send is charged iff `spent + cost <= limit` for its (context, peer) in the epoch. The chain
writes each charge to the journal's `flow_budgets` table in the same transaction as the send's facts
(README §6, `JournalStore.load_budgets`), but nothing reads it back: a device whose process restarts
on the same journal (a crash, or simply the next `aura-choreo run`) starts every budget at 0 in the
same epoch, so the limit holds per process, not per device. Found by SIGKILLing a group-committing
writer 8 times: the stored `spent` stayed at the largest single run's count (200) while 864 sends of
cost 1 had been committed. Suspect: `guards/policy.py` `build_chain` (its `FlowLedger`s never
`restore` the stored rows; `guards/flow.py` has `FlowLedger.restore` for that).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aura_choreo.errors import BudgetExhausted
from aura_choreo.guards.chain import OutgoingSend
from aura_choreo.guards.policy_file import parse_policy
from aura_choreo.guards.receipts import DeviceKey

SEND = OutgoingSend(
    "P", "s1", "A", "dev-a", "B", "dev-b", "M", (("flow_cost", 60), ("journal_facts", "sent"))
)


def test_a_restarted_device_keeps_what_it_spent_of_its_flow_budget(tmp_path: Path) -> None:
    policy = parse_policy(
        {
            "journal": str(tmp_path / "journal.db"),
            "defaults": {"flow_limit": 100},
            "roles": {"A": "dev-a", "B": "dev-b"},
            "devices": {"dev-a": {}, "dev-b": {}},
        }
    )
    # The deployed device's chain (`run --key`): its own key, its own journal.
    key = DeviceKey.generate("dev-a")
    first = policy.build_chain(clock=lambda: 0.0, own_key=key)
    first.commit(first.prepare(SEND))  # 60 of 100 spent, on disk with its fact
    assert first.store is not None
    assert first.store.load_budgets("dev-a") == [("P", "dev-b", 0, 60)]
    first.store.close()

    restarted = policy.build_chain(clock=lambda: 0.0, own_key=key)  # a new process, same epoch
    assert [f.name for f in restarted.device("dev-a").journal.facts()] == ["sent"]  # the facts are back
    with pytest.raises(BudgetExhausted):
        restarted.prepare(SEND)  # 60 + 60 > 100: today it is charged as if nothing had been spent
