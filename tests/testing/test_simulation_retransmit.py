"""The simulator's session layer retransmits at a constant interval (no backoff on a network that
never congests), so a protocol's own receive deadline is not overrun by a doubling schedule.

`recursive_dns.choreo` (literature corpus) arms a 2 s receive deadline at the authoritative server
while the resolver walks root and TLD referrals first. With exponential backoff (0.2, 0.4, 0.8, 1.6 s)
a frame lost four times arrived after 3 s, and about one run in 150 at the file's own faults ended in
`PeerTimeout`; these seeds were such runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aura_choreo.cli.main import cli
from conftest import LITERATURE_CORPUS

# The faults the file's header expects it to pass.
OWN_FAULTS = ("--drop", "0.2", "--dup", "0.1", "--delay", "5..50", "--json")


@pytest.mark.parametrize("seed", [10, 79, 1755])
def test_recursive_dns_meets_its_deadline_at_its_own_faults(seed: int) -> None:
    path = LITERATURE_CORPUS / "recursive_dns.choreo"
    result = CliRunner().invoke(cli, ["simulate", str(path), "--runs", "1", "--seed", str(seed), *OWN_FAULTS])
    document = json.loads(result.stdout)
    assert document["failed_runs"] == 0, document["failures"]
    assert result.exit_code == 0


PING = """
protocol Ping {
    roles: A, B;
    [@timeout = 1000]
    A -> B: Ping(n: u32);
    B -> A: Pong(n: u32);
}
"""


def test_a_frame_lost_to_a_partition_is_resent_soon_after_it_heals(tmp_path: Path) -> None:
    # B is cut off for the first 700 ms: the Ping and its resends at 0.2 s and 0.6 s are lost. The
    # next resend comes at 0.8 s (constant interval), inside B's 1 s deadline; a doubling schedule
    # would resend at 1.4 s and B would time out.
    path = tmp_path / "ping.choreo"
    path.write_text(PING)
    args = ["simulate", str(path), "--runs", "5", "--seed", "1", "--partition", "B@0..700", "--json"]
    result = CliRunner().invoke(cli, args)
    document = json.loads(result.stdout)
    assert document["failed_runs"] == 0, document["failures"]
    assert result.exit_code == 0
