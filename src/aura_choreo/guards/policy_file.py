"""Policy files: reading TOML or JSON into a `guards.policy.Policy`, naming the file and key of any error.

Each section is read by its own small function and every key is listed in one tuple per section
(`_DEVICE_KEYS`, ...): a new key is one entry there and one line where its section is read.

A policy is TOML (`.toml`, read with stdlib `tomllib`) or JSON (any other suffix):

```toml
context = "protocol"        # budget context: "protocol" (default) or "session"
signing = true              # Ed25519 receipts on every guarded send
journal = ":memory:"        # or a path such as ".aura/journal.db"

[defaults]                  # every key optional
flow_limit = 1024
leakage_limits = [1000, 500, 100]
leakage_window_seconds = 86400

[devices.alice]
capabilities = ["admin_access", "audit_logs"]   # or "admin_access, audit_logs"
public_key = "ed25519:..."                      # as `aura-choreo keygen` prints (or 64 hex digits)
address = "tcp://10.0.0.2:7000"                 # where the device listens (`aura-choreo run`)
flow_limit = 2048                               # overrides the default
peer_flow_limits = { bob = 300 }
leakage_limits = [10, 10, 5]

[roles]
Admin = "alice"             # unmapped roles run on a device named after the role

[[capability_layers]]       # refining layers, in order, each refining the context the one before returned:
name = "org"                # in a listed context only these capabilities
contexts = { "admin_operations.AdminOperations" = ["admin_access"] }
enter = { "admin_operations.AdminOperations" = "admin" }  # optional: later layers see context "admin"

[[privacy_layers]]          # extra leakage layers, checked after the device's own
name = "org"
limits = [100, 50, 10]
scope = "global"            # "global" (one budget for all contexts) or "context"
scale = [1, 1, 2]           # optional: this layer's cost is the base cost times these factors
contexts = { "audit" = [0, 0, 0] }  # optional: per budget context factors (here: audit is free)

[message_guards.Ping]       # like register_message_guard: overrides the message's annotations
flow_cost = 5

[default_message_guard]     # the profile of unannotated messages (default: flow_cost 1, nothing else)
flow_cost = 2
```
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn, cast

from aura_choreo.diagnostics import did_you_mean
from aura_choreo.guards.flow import DEFAULT_FLOW_LIMIT
from aura_choreo.guards.leakage import DEFAULT_LEAKAGE_LIMITS, DEFAULT_WINDOW_SECONDS, LeakageVector
from aura_choreo.guards.policy import (
    CapabilityLayerPolicy,
    DevicePolicy,
    Policy,
    PolicyError,
    PrivacyLayerPolicy,
)
from aura_choreo.guards.profile import (
    GuardConfigError,
    GuardProfile,
    parse_name_list,
    profile_from_annotations,
)
from aura_choreo.journal.store import MEMORY
from aura_choreo.syntax.ast import AnnotationValue
from aura_choreo.transports.net.identity import parse_public_key

_TOP_KEYS = (
    "context",
    "signing",
    "journal",
    "synchronous",
    "defaults",
    "devices",
    "roles",
    "capability_layers",
    "privacy_layers",
    "message_guards",
    "default_message_guard",
)
_DEFAULT_KEYS = ("flow_limit", "leakage_limits", "leakage_window_seconds", "epoch_seconds")
_DEVICE_KEYS = ("capabilities", "flow_limit", "peer_flow_limits", "leakage_limits", "public_key", "address")
_GUARD_KEYS = ("guard_capability", "flow_cost", "leakage_budget", "journal_facts", "journal_merge")


def load_policy(path: str | Path) -> Policy:
    """Read a policy file (TOML for `.toml`, JSON otherwise); raise `PolicyError` naming what is wrong."""
    source = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise PolicyError(f"{source}: cannot read policy file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text) if source.endswith(".toml") else json.loads(text)
    except UnicodeDecodeError:
        raise PolicyError(f"{source}: policy file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: invalid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{source}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    return parse_policy(data, source=source)


def parse_policy(data: object, *, source: str = "<policy>") -> Policy:
    """Build a `Policy` from already-decoded TOML/JSON data."""
    reader = _Reader(source)
    top = reader.table(data, "")
    reader.known(top, _TOP_KEYS, "")
    defaults = reader.table(top.get("defaults", {}), "defaults")
    reader.known(defaults, _DEFAULT_KEYS, "defaults")
    flow_limit = reader.count(defaults.get("flow_limit", DEFAULT_FLOW_LIMIT), "defaults.flow_limit")
    leakage = reader.leakage(
        defaults.get("leakage_limits", DEFAULT_LEAKAGE_LIMITS.as_list()), "defaults.leakage_limits"
    )
    window = reader.seconds(
        defaults.get("leakage_window_seconds", DEFAULT_WINDOW_SECONDS), "defaults.leakage_window_seconds"
    )
    epoch = defaults.get("epoch_seconds")
    epoch_seconds = None if epoch is None else reader.seconds(epoch, "defaults.epoch_seconds")

    devices = {}
    for name, raw in reader.table(top.get("devices", {}), "devices").items():
        where = f"devices.{name}"
        spec = reader.table(raw, where)
        reader.known(spec, _DEVICE_KEYS, where)
        peers = reader.table(spec.get("peer_flow_limits", {}), f"{where}.peer_flow_limits")
        devices[name] = DevicePolicy(
            name,
            capabilities=frozenset(reader.names(spec.get("capabilities", []), f"{where}.capabilities")),
            flow_limit=reader.count(spec.get("flow_limit", flow_limit), f"{where}.flow_limit"),
            peer_flow_limits={p: reader.count(v, f"{where}.peer_flow_limits.{p}") for p, v in peers.items()},
            public_key=reader.public_key(spec.get("public_key"), f"{where}.public_key"),
            address=reader.address(spec.get("address"), f"{where}.address"),
            leakage_limits=reader.leakage(
                spec.get("leakage_limits", leakage.as_list()), f"{where}.leakage_limits"
            ),
        )
    roles = {}
    for role, device in reader.table(top.get("roles", {}), "roles").items():
        roles[role] = reader.text(device, f"roles.{role}")

    context = reader.choice(top.get("context", "protocol"), ("protocol", "session"), "context")
    synchronous = reader.choice(top.get("synchronous", "FULL"), ("FULL", "NORMAL"), "synchronous")
    signing = top.get("signing", True)
    if not isinstance(signing, bool):
        reader.fail("signing", f"expected true or false, got {signing!r}")
    return Policy(
        devices=devices,
        roles=roles,
        default_flow_limit=flow_limit,
        default_leakage_limits=leakage,
        leakage_window_seconds=window,
        epoch_seconds=epoch_seconds,
        context=context,
        signing=signing,
        journal=reader.text(top.get("journal", MEMORY), "journal"),
        synchronous="FULL" if synchronous == "FULL" else "NORMAL",
        capability_layers=_capability_layers(reader, top.get("capability_layers", [])),
        privacy_layers=_privacy_layers(reader, top.get("privacy_layers", [])),
        message_guards=_message_guards(reader, top.get("message_guards", {})),
        default_guard=_guard_profile(reader, top.get("default_message_guard", {}), "default_message_guard"),
        source=source,
    )


def _capability_layers(reader: _Reader, raw: object) -> tuple[CapabilityLayerPolicy, ...]:
    layers = []
    for i, item in enumerate(reader.array(raw, "capability_layers")):
        where = f"capability_layers[{i}]"
        layer = reader.table(item, where)
        reader.known(layer, ("name", "contexts", "enter"), where)
        contexts = reader.table(layer.get("contexts", {}), f"{where}.contexts")
        allowed = {c: frozenset(reader.names(v, f"{where}.contexts.{c}")) for c, v in contexts.items()}
        enter = reader.table(layer.get("enter", {}), f"{where}.enter")
        moves = {c: reader.text(v, f"{where}.enter.{c}") for c, v in enter.items()}
        name = reader.text(layer.get("name", f"layer{i}"), f"{where}.name")
        layers.append(CapabilityLayerPolicy(name, allowed, moves))
    return tuple(layers)


def _privacy_layers(reader: _Reader, raw: object) -> tuple[PrivacyLayerPolicy, ...]:
    layers = []
    for i, item in enumerate(reader.array(raw, "privacy_layers")):
        where = f"privacy_layers[{i}]"
        layer = reader.table(item, where)
        reader.known(layer, ("name", "limits", "scope", "scale", "contexts"), where)
        if "limits" not in layer:
            reader.fail(f"{where}.limits", "missing: give [external, neighbor, group]")
        contexts = reader.table(layer.get("contexts", {}), f"{where}.contexts")
        layers.append(
            PrivacyLayerPolicy(
                reader.text(layer.get("name", f"privacy{i}"), f"{where}.name"),
                reader.leakage(layer["limits"], f"{where}.limits"),
                reader.choice(layer.get("scope", "context"), ("context", "global"), f"{where}.scope"),
                reader.leakage(layer.get("scale", [1, 1, 1]), f"{where}.scale"),
                {c: reader.leakage(v, f"{where}.contexts.{c}") for c, v in contexts.items()},
            )
        )
    return tuple(layers)


def _message_guards(reader: _Reader, raw: object) -> dict[str, GuardProfile]:
    return {
        label: _guard_profile(reader, item, f"message_guards.{label}")
        for label, item in reader.table(raw, "message_guards").items()
    }


def _guard_profile(reader: _Reader, raw: object, where: str) -> GuardProfile:
    spec = reader.table(raw, where)
    reader.known(spec, _GUARD_KEYS, where)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()}
    try:
        # profile_from_annotations type-checks every value itself, hence the cast.
        profile = profile_from_annotations(cast("dict[str, AnnotationValue]", values))
    except GuardConfigError as exc:
        reader.fail(where, str(exc))
    # An explicit profile with no flow_cost costs what the default profile costs, not 100.
    if "flow_cost" not in spec:
        profile = GuardProfile(
            profile.capabilities, 1, profile.leakage, profile.journal_facts, profile.journal_merge
        )
    return profile


class _Reader:
    """Typed reads from decoded policy data, failing with the file and the key path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str, hint: str = "") -> NoReturn:
        location = f"{self.source}: {where}: " if where else f"{self.source}: "
        raise PolicyError(location + message + (f" ({hint})" if hint else ""))

    def table(self, value: object, where: str) -> dict[str, object]:
        if not isinstance(value, dict):
            self.fail(where or "top level", f"expected a table/object, got {type(value).__name__}")
        return {str(k): v for k, v in value.items()}

    def array(self, value: object, where: str) -> list[object]:
        if not isinstance(value, list):
            self.fail(where, f"expected a list, got {type(value).__name__}")
        return list(value)

    def known(self, table: Mapping[str, object], keys: tuple[str, ...], where: str) -> None:
        for key in table:
            if key not in keys:
                self.fail(f"{where}.{key}" if where else key, "unknown key", did_you_mean(key, keys))

    def count(self, value: object, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(where, f"expected a non-negative integer, got {value!r}")
        return int(value)

    def seconds(self, value: object, where: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.fail(where, f"expected a positive number of seconds, got {value!r}")
        return float(value)

    def public_key(self, value: object, where: str) -> bytes | None:
        if value is None:
            return None
        try:
            return parse_public_key(value) if isinstance(value, str) else parse_public_key("")
        except ValueError as exc:
            self.fail(where, f"invalid Ed25519 public key: {exc}")

    def address(self, value: object, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or "://" not in value:
            self.fail(where, f'expected an address such as "tcp://127.0.0.1:7000", got {value!r}')
        return str(value)

    def text(self, value: object, where: str) -> str:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {value!r}")
        return str(value)

    def choice(self, value: object, options: tuple[str, ...], where: str) -> str:
        if value not in options:
            self.fail(
                where,
                f"expected one of {', '.join(options)}, got {value!r}",
                did_you_mean(str(value), options),
            )
        return str(value)

    def names(self, value: object, where: str) -> tuple[str, ...]:
        if isinstance(value, str):
            return parse_name_list(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return parse_name_list(",".join(value))
        self.fail(where, f"expected a list of names or a comma-separated string, got {value!r}")

    def leakage(self, value: object, where: str) -> LeakageVector:
        if not (isinstance(value, list) and len(value) == 3):
            self.fail(where, f"expected three integers [external, neighbor, group], got {value!r}")
        items = [self.count(v, where) for v in value]
        return LeakageVector(*items)
