"""Policy files: TOML and JSON, defaults, role -> device map, clear errors, building the chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aura_choreo.errors import BudgetExhausted, CapabilityDenied, LeakageExceeded, ReceiptError
from aura_choreo.guards import LeakageVector, PolicyError, load_policy, parse_policy
from aura_choreo.guards.chain import OutgoingSend
from aura_choreo.guards.receipts import DeviceKey

TOML = """
context = "session"
signing = false

[defaults]
flow_limit = 500
leakage_limits = [10, 10, 2]

[devices.alice]
capabilities = "admin_access, audit_logs"
flow_limit = 2048
peer_flow_limits = { bob = 300 }

[devices.workers]
capabilities = ["work"]

[roles]
Admin = "alice"
Worker = "workers"

[[capability_layers]]
name = "org"
contexts = { locked = ["audit_logs"] }

[[privacy_layers]]
name = "org"
limits = [5, 5, 1]
scope = "global"

[message_guards.Ping]
flow_cost = 5
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_policy_is_read(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "p.toml", TOML))
    assert policy.context == "session" and policy.signing is False
    alice = policy.device_policy("alice")
    assert alice.capabilities == {"admin_access", "audit_logs"}
    assert alice.flow_limit == 2048 and alice.peer_flow_limits == {"bob": 300}
    assert alice.leakage_limits == LeakageVector(10, 10, 2)
    assert policy.device_policy("unknown").flow_limit == 500
    assert policy.message_guards["Ping"].flow_cost == 5


def test_json_policy_is_read(tmp_path: Path) -> None:
    data = {"devices": {"d": {"capabilities": ["x"]}}, "roles": {"R": "d"}}
    policy = load_policy(write(tmp_path, "p.json", json.dumps(data)))
    assert policy.device_of("R") == "d"
    assert policy.device_policy("d").capabilities == {"x"}
    assert policy.default_flow_limit == 1024


def test_roles_map_to_devices_and_families_to_instances(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, "p.toml", TOML))
    assert policy.device_of("Admin") == "alice"
    assert policy.device_of("Worker[2]") == "workers[2]"
    assert policy.device_policy("workers[2]").capabilities == {"work"}
    assert policy.device_of("Stranger") == "Stranger"


def test_built_chain_enforces_the_policy(tmp_path: Path) -> None:
    chain = load_policy(write(tmp_path, "p.toml", TOML)).build_chain(clock=lambda: 0.0)

    def send(label: str, annotations: tuple[tuple[str, object], ...], context: str = "s1") -> None:
        out = OutgoingSend("p.P", "s1", "Admin", "alice", "B", "bob", label, annotations, context)  # type: ignore[arg-type]
        chain.commit(chain.prepare(out))

    send("Grant", (("guard_capability", "admin_access"), ("flow_cost", 300)))
    with pytest.raises(BudgetExhausted):
        send("Grant", (("flow_cost", 1),))  # bob's per-peer limit is 300
    with pytest.raises(CapabilityDenied):
        send("Grant", (("guard_capability", "admin_access"),), context="locked")  # the org layer denies
    with pytest.raises(CapabilityDenied):
        send("Grant", (("guard_capability", "root"),))


def test_global_privacy_layer_spans_contexts(tmp_path: Path) -> None:
    chain = load_policy(write(tmp_path, "p.toml", TOML)).build_chain(clock=lambda: 0.0)
    leak = (("leakage_budget", (0, 0, 1)), ("flow_cost", 0))
    chain.commit(chain.prepare(OutgoingSend("p.P", "s", "Admin", "alice", "B", "carol", "M", leak, "c1")))
    with pytest.raises(LeakageExceeded, match="org"):
        chain.prepare(OutgoingSend("p.P", "s", "Admin", "alice", "B", "carol", "M", leak, "c2"))
    assert chain.device("alice").leakage.layers[0].ledger.spent("c2") == LeakageVector()


def test_message_guard_from_the_policy_overrides_annotations(tmp_path: Path) -> None:
    chain = load_policy(write(tmp_path, "p.toml", TOML)).build_chain()
    prepared = chain.prepare(
        OutgoingSend("p.P", "s", "Admin", "alice", "B", "dave", "Ping", (("flow_cost", 900),))
    )
    assert prepared.profile.flow_cost == 5


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"devices": {"d": {"capabilites": ["x"]}}},
            "devices.d.capabilites: unknown key (did you mean `capabilities`?)",
        ),
        (
            {"defaults": {"flow_limit": "lots"}},
            "defaults.flow_limit: expected a non-negative integer, got 'lots'",
        ),
        ({"devices": {"d": {"leakage_limits": [1, 2]}}}, "devices.d.leakage_limits: expected three integers"),
        ({"roles": {"R": 3}}, "roles.R: expected a string, got 3"),
        (
            {"context": "sesion"},
            "context: expected one of protocol, session, got 'sesion' (did you mean `session`?)",
        ),
        ({"signing": "yes"}, "signing: expected true or false"),
        ({"privacy_layers": [{"name": "x"}]}, "privacy_layers[0].limits: missing"),
        (
            {"message_guards": {"M": {"flow_cost": -2}}},
            "message_guards.M: annotation `flow_cost` must be non-negative",
        ),
        ({"devices": []}, "devices: expected a table/object, got list"),
        ([], "top level: expected a table/object"),
    ],
)
def test_invalid_policies_name_the_file_and_key(data: object, message: str) -> None:
    with pytest.raises(PolicyError) as error:
        parse_policy(data, source="policy.json")
    assert str(error.value).startswith("policy.json: ")
    assert message in str(error.value)


def test_unreadable_and_malformed_files_are_policy_errors(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    with pytest.raises(PolicyError, match="invalid TOML"):
        load_policy(write(tmp_path, "bad.toml", "devices = ["))
    with pytest.raises(PolicyError, match=r"bad.json:1:\d+: invalid JSON"):
        load_policy(write(tmp_path, "bad.json", "{nope"))


def test_epochs_rotate_on_the_policy_clock() -> None:
    now = [0.0]
    policy = parse_policy({"defaults": {"flow_limit": 10, "epoch_seconds": 60}})
    assert policy.epoch_seconds == 60
    chain = policy.build_chain(clock=lambda: now[0])
    send = OutgoingSend("p.P", "s", "A", "a", "B", "b", "M", (("flow_cost", 10),))
    chain.commit(chain.prepare(send))
    with pytest.raises(BudgetExhausted):
        chain.prepare(send)
    now[0] = 61.0
    assert chain.prepare(send).flow.epoch == 1


def test_bad_epoch_length_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"defaults\.epoch_seconds: expected a positive number of seconds"):
        parse_policy({"defaults": {"epoch_seconds": 0}})


def test_receipts_from_a_device_in_another_process_verify_with_its_configured_key() -> None:
    sender_chain = parse_policy({}).build_chain()
    prepared = sender_chain.prepare(OutgoingSend("p.P", "s", "A", "alice", "B", "bob", "M", ()))
    sender_chain.commit(prepared)
    alice_key = sender_chain.device("alice").key.public_bytes().hex()

    # bob's process (`run --key bob.key`): alice is remote, checked against the key the policy pins.
    pinned = parse_policy({"devices": {"alice": {"public_key": alice_key}}})
    receiver_chain = pinned.build_chain(own_key=DeviceKey.generate("bob"))
    receiver_chain.accept(sender_device="alice", receiver_device="bob", attachments=prepared.attachments)

    stranger_chain = parse_policy({}).build_chain(own_key=DeviceKey.generate("bob"))
    with pytest.raises(ReceiptError, match="bad signature"):
        stranger_chain.accept(sender_device="alice", receiver_device="bob", attachments=prepared.attachments)


def test_devices_in_one_process_verify_with_their_own_keys_whatever_the_policy_pins() -> None:
    # The deployment policy pins alice's key from keygen; a simulated or in-process run has not that
    # private key, so alice signs with the key it holds here and is checked against that one.
    pinned_key = DeviceKey.generate("alice").public_bytes().hex()
    chain = parse_policy({"devices": {"alice": {"public_key": pinned_key}}}).build_chain(key_seed=b"s")
    prepared = chain.prepare(OutgoingSend("p.P", "s", "A", "alice", "B", "bob", "M", ()))
    chain.commit(prepared)
    chain.accept(sender_device="alice", receiver_device="bob", attachments=prepared.attachments)


def test_bad_public_key_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match=r"devices\.d\.public_key: invalid Ed25519 public key"):
        parse_policy({"devices": {"d": {"public_key": "abcd"}}})


def test_device_keys_are_random_unless_derived_from_a_seed() -> None:
    policy = parse_policy({})

    def key(**options: bytes) -> bytes:
        return policy.build_chain(**options).device("alice").key.public_bytes()  # type: ignore[arg-type]

    assert key() != key()
    assert key(key_seed=b"run-1") == key(key_seed=b"run-1") != key(key_seed=b"run-2")


def test_policy_sets_the_default_profile_of_unannotated_messages() -> None:
    chain = parse_policy({"default_message_guard": {"flow_cost": 2, "journal_facts": "seen"}}).build_chain()
    prepared = chain.prepare(OutgoingSend("p.P", "s", "A", "a", "B", "b", "M", ()))
    assert prepared.profile.flow_cost == 2
    assert [f.name for f in chain.commit(prepared)] == ["seen"]
    annotated = chain.prepare(OutgoingSend("p.P", "s", "A", "a", "B", "b", "M", (("priority", "high"),)))
    assert annotated.profile.flow_cost == 100
