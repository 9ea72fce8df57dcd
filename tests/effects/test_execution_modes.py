"""Execution modes (SPEC §5.5, §5.8): `build_stack(protocol, policy, mode)`; every effect in testing,
simulation and production; one behaviour module under the fixture, `simulate` and `run` (two processes)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from aura_choreo.effects import EffectLog, role_effects
from aura_choreo.execution import build_stack, derived_identity
from aura_choreo.guards import parse_policy
from aura_choreo.protocol import Protocol, load
from aura_choreo.runtime.endpoint import Endpoint
from aura_choreo.testing.pytest_plugin import ChoreoSim
from aura_choreo.testing.simulation import SimulationConfig, simulate
from aura_choreo.transports.net.identity import Identity, format_public_key

HERE = Path(__file__).resolve().parent
ORDER = HERE / "signed_order.choreo"
ROLES_SPEC = f"{HERE / 'effect_roles.py'}:ROLES"
POLICY = {"roles": {"Client": "dev-client", "Server": "dev-server"}}


def order() -> Protocol:
    return load(ORDER)


def _roles() -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    try:
        import effect_roles
    finally:
        sys.path.remove(str(HERE))
    return dict(effect_roles.ROLES)


def deliveries(sends: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """A trace up to timing: its messages as (from, to, label), in a canonical order."""
    return sorted(sends)


def test_build_stack_refuses_an_unknown_mode_and_production_without_a_key() -> None:
    with pytest.raises(ValueError, match="unknown execution mode 'staging'"):
        build_stack(order(), None, "staging")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="device key"):
        build_stack(order(), None, "production")


# ---------------------------------------------------------------- testing mode


async def test_testing_mode_runs_the_behaviour_module_with_every_effect() -> None:
    stack = build_stack(order(), parse_policy(POLICY), "testing", seed=4)
    session = stack.session()
    from aura_choreo.runtime.runner import run_session

    await run_session(session, stack.transport(), _roles())
    assert [e.label for e in session.trace.events if e.kind == "send"] == ["Order", "Accepted"]


async def test_testing_mode_random_is_seeded_and_keys_are_derived_from_the_seed() -> None:
    async def draw(ep: Endpoint) -> tuple[float, bytes]:
        await ep.send("Server", ep.message("Order", item="x", ticket=1, signature=b""))
        await ep.recv("Server")
        return await ep.effects.random(), await ep.effects.sign(b"x")

    async def serve(ep: Endpoint) -> None:
        await ep.recv("Client")
        await ep.choose("reject")
        await ep.send("Client", ep.message("Rejected", item="x"))

    async def run(seed: int) -> tuple[float, bytes]:
        stack = build_stack(order(), None, "testing", seed=seed)
        results = await stack.run_session({"Client": draw, "Server": serve}, session_id="s")
        return results["Client"]  # type: ignore[no-any-return]

    first, again, other = await run(1), await run(1), await run(2)
    assert first == again
    assert first[0] != other[0] and first[1] != other[1]
    assert first[1] == derived_identity(1, "Client").sign(b"x")  # Ed25519 is deterministic


async def test_testing_mode_journal_facts_read_the_guard_chains_journal() -> None:
    stack = build_stack(order(), parse_policy({"signing": True}), "testing")
    parts = stack.parts()
    assert parts.guards is not None
    journal = parts.guards.chain.device("Server").journal
    journal.commit(journal.reserve(["approved"], protocol="p", session="earlier", role="Server", label="L"))

    async def client(ep: Endpoint) -> None:
        await ep.send("Server", ep.message("Order", item="x", ticket=1, signature=b""))
        await ep.recv("Server")

    async def server(ep: Endpoint) -> tuple[str, ...]:
        await ep.recv("Client")
        facts = await ep.effects.journal_facts("approved")
        await ep.choose("accept")
        await ep.send("Client", ep.message("Accepted", item="x"))
        return tuple(f.session for f in facts)

    results = await stack.run_session({"Client": client, "Server": server}, parts=parts)
    assert results["Server"] == ("earlier",)


# ---------------------------------------------------------------- simulation mode


def test_simulation_sleeps_an_hour_in_no_real_time_and_the_same_seed_gives_the_same_trace() -> None:
    class Sleeper:
        async def Order(self, env: dict[str, object]) -> dict[str, object]:
            await role_effects().sleep(3600)
            ticket = int(await role_effects().random() * 10**9)
            return {"item": "book", "ticket": ticket, "signature": await role_effects().sign(b"book")}

    def run(seed: int) -> tuple[list[Any], list[Any], float]:
        log = EffectLog()
        config = SimulationConfig(peer_timeout=None, horizon=7200.0)
        report = simulate(
            order(),
            seed=seed,
            roles={"Client": Sleeper()},
            config=config,
            check=True,
            effect_middleware=[log],
        )
        assert report.ok, report.summary()
        result = report.runs[0]
        return [e.to_json() for e in result.trace.events], log.events, result.duration

    started = time.monotonic()
    trace, effects, seconds = run(5)
    assert seconds >= 3600
    assert time.monotonic() - started < 60  # an hour of virtual time, not of wall time
    assert [e.effect for e in effects] == ["sleep 3600", "random", "sign"]
    assert run(5) == (trace, effects, seconds)  # same seed, same trace (times included) and effects
    other = run(6)[0]
    order_of = [e for e in trace if e["label"] == "Order"]
    assert order_of != [e for e in other if e["label"] == "Order"] or trace != other


def test_simulation_gives_each_run_fresh_storage_so_a_run_depends_only_on_its_seed() -> None:
    seen: list[object] = []

    class Counter:
        async def Order(self, env: dict[str, object]) -> dict[str, object]:
            count = await role_effects().store_get("count")
            seen.append(count)
            await role_effects().store_put("count", (count if isinstance(count, int) else 0) + 1)
            return {"item": "book", "ticket": 1, "signature": b""}

    assert simulate(order(), runs=3, roles={"Client": Counter()}).ok
    assert seen == [None, None, None]


def test_the_choreo_sim_fixture_runs_the_behaviour_module_under_a_policy() -> None:
    sim = ChoreoSim(HERE)
    log = EffectLog()
    report = sim.run(ORDER, _roles(), runs=2, policy=parse_policy(POLICY), effect_middleware=[log])
    sim.assert_ok(report)
    assert {tuple(e.label for e in r.trace.events if e.kind == "send") for r in report.runs} == {
        ("Order", "Accepted")
    }
    assert [e.effect for e in log.of("Server")][:2] == ["verify dev-client", "verify dev-client"]
    assert "sign" in [e.effect for e in log.of("Client")]


# ---------------------------------------------------------------- production mode


async def test_production_effects_use_the_device_key_pinned_keys_os_randomness_and_sqlite_storage(
    tmp_path: Path,
) -> None:
    me, peer = Identity.generate("dev-client"), Identity.generate("dev-server")
    policy = parse_policy(
        {
            "journal": str(tmp_path / "{device}.db"),
            "roles": {"Client": "dev-client", "Server": "dev-server"},
            "devices": {"dev-server": {"public_key": format_public_key(peer.public_bytes)}},
        }
    )
    stack = build_stack(order(), policy, "production", identity=me)
    client = stack.effects().resources("dev-client")
    from aura_choreo.effects import DeviceHandler, Effects, session_rng

    effects = Effects(DeviceHandler(client, session_rng(None, "s", "Client")))
    assert await effects.verify("dev-server", b"m", peer.sign(b"m"))
    assert not await effects.verify("dev-server", b"m", me.sign(b"m"))
    assert await effects.verify("dev-client", b"m", await effects.sign(b"m"))
    draws = {await effects.random() for _ in range(8)}
    assert len(draws) == 8  # OS entropy: no seed makes two runs agree
    await effects.store_put("k", "v")
    # A later process (a new stack over the same files) reads what this one stored.
    later = build_stack(order(), policy, "production", identity=me).effects().resources("dev-client")
    assert await Effects(DeviceHandler(later, session_rng(None, "s2", "Client"))).store_get("k") == "v"
    before = await effects.now()
    await effects.sleep(0.01)
    assert await effects.now() - before >= 0.01
    assert (tmp_path / "dev-client.db.storage").exists()


def _deploy(tmp_path: Path, protocol_file: Path, roles: tuple[str, ...], *extra: str):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(HERE.parent / "deployment"))
    try:
        from deploy_cluster import make_cluster
    finally:
        sys.path.remove(str(HERE.parent / "deployment"))
    return make_cluster(tmp_path, roles, header=list(extra))


def test_one_behaviour_module_gives_the_same_trace_under_the_fixture_simulate_and_run(tmp_path: Path) -> None:
    # 1. the pytest fixture (simulation mode, in process)
    sim = ChoreoSim(HERE)
    fixture = sim.run(ORDER, _roles(), policy=parse_policy(POLICY))
    sim.assert_ok(fixture)
    events = fixture.runs[0].trace.events
    from_fixture = deliveries([(e.sender, e.receiver, e.label) for e in events if e.kind == "send"])
    # 2. `aura-choreo simulate` (simulation mode, another process)
    policy_file = tmp_path / "sim_policy.toml"
    policy_file.write_text('[roles]\nClient = "dev-client"\nServer = "dev-server"\n', encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "aura_choreo", "simulate", str(ORDER), "--behaviours", ROLES_SPEC,
         "--policy", str(policy_file), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    from_simulate = deliveries([(d["from"], d["to"], d["label"]) for d in json.loads(done.stdout)["trace"]])
    # 3. `aura-choreo run`: each role in its own process (production mode)
    cluster = _deploy(tmp_path / "run", ORDER, ("Client", "Server"))
    results = cluster.run(ORDER, extra={r: ("--behaviours", ROLES_SPEC) for r in ("Client", "Server")})
    for role, result in results.items():
        assert result.code == 0, f"{role}: {result.stderr}"
    from_run = deliveries(
        [
            (role, entry["peer"], entry["label"])
            for role, result in results.items()
            for entry in result.document["trace"]  # type: ignore[attr-defined]
            if entry["kind"] == "send"
        ]
    )
    expected = [("Client", "Server", "Order"), ("Server", "Client", "Accepted")]
    assert from_fixture == from_simulate == from_run == expected


async def test_a_device_signs_effects_and_receipts_with_one_key_in_testing_and_simulation() -> None:
    from aura_choreo.transports.net.identity import verify_signature

    stack = build_stack(order(), parse_policy(POLICY), "simulation", seed=9)
    parts = stack.parts()
    assert parts.guards is not None
    receipt_key = parts.guards.chain.device("dev-client").key.public_bytes()
    for run_seed in (1, 2):  # another run of the stack: other random draws, the same device key
        client = parts.effects if run_seed == 1 else stack.effects(parts.guards, seed=run_seed)
        from aura_choreo.effects import DeviceHandler, Effects, session_rng

        effects = Effects(DeviceHandler(client.resources("dev-client"), session_rng(run_seed, "s", "Client")))
        assert verify_signature(receipt_key, await effects.sign(b"m"), b"m")
