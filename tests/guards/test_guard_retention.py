"""A long-lived guard chain holds no receipt chain per finished session (issue #11 item 15)."""

from __future__ import annotations

from aura_choreo.guards import build_guard_extension, parse_policy
from aura_choreo.protocol import choreography
from aura_choreo.runtime.extensions import ExtensionRegistry
from aura_choreo.testing.simulation import simulate

PING = choreography("protocol P { roles: A, B; A -> B: Ping; B -> A: Pong; A -> B: Bye; }")


def test_receipt_chains_of_finished_sessions_are_forgotten() -> None:
    extension = build_guard_extension(parse_policy({}), clock=lambda: 0.0)
    report = simulate(PING, runs=40, extensions=lambda _clock: extension.install(ExtensionRegistry()))
    assert report.ok
    chain = extension.chain
    assert chain.metrics.receipts_verified == 40 * 3
    for device in chain.devices.values():
        assert device.signer.chains() == 0 and device.verifier.chains() == 0
