"""Replayable fixtures: a seed, a network model, a fault schedule and the run's settings as JSON
(`simulate --replay FILE`).

A fixture records everything that decides a run (`--timeout`, `--horizon`, `--policy`, `--behaviours`
too), so replaying it reproduces the failure. Fixture files are input: every field is checked for its
type and range, and anything malformed is a `FixtureError`, never a crash later in the run.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aura_choreo.transports.faults import (
    BudgetExhaustion,
    Crash,
    DropMessage,
    DuplicateMessage,
    FaultEvent,
    FaultSchedule,
    Partition,
)
from aura_choreo.transports.network import (
    ExponentialLatency,
    FixedLatency,
    Latency,
    LinkModel,
    LinkOverride,
    NetworkModel,
    UniformLatency,
)

FORMAT = "aura-choreo.simulation-fixture"
MAX_FIXTURE_BYTES = 1 << 20
VERSION = 1

_EVENT_KINDS: dict[str, type[FaultEvent]] = {
    "partition": Partition,
    "crash": Crash,
    "drop": DropMessage,
    "duplicate": DuplicateMessage,
    "budget_exhaustion": BudgetExhaustion,
}
_LATENCY_KINDS: dict[str, type[Latency]] = {
    "fixed": FixedLatency,
    "uniform": UniformLatency,
    "exponential": ExponentialLatency,
}


class FixtureError(ValueError):
    """A fixture file that is not a valid simulation fixture."""


@dataclass(frozen=True)
class SimulationFixture:
    """Everything needed to replay one simulated run exactly."""

    seed: int
    network: NetworkModel = field(default_factory=NetworkModel)
    schedule: FaultSchedule = ()
    protocol: str | None = None
    params: Mapping[str, int] = field(default_factory=dict)
    note: str = ""
    peer_timeout: float | None = 30.0
    """The receive timeout in virtual seconds (None: none)."""
    horizon: float = 3600.0
    policy: str | None = None
    """The guard policy file the run used, if any."""
    behaviours: str | None = None
    """The user behaviours (`MOD:OBJ`) the run used, if any."""


def _tagged(value: Any, kinds: Mapping[str, type]) -> dict[str, Any]:
    kind = next(k for k, cls in kinds.items() if isinstance(value, cls))
    fields = {}
    for f in dataclasses.fields(value):
        v = getattr(value, f.name)
        fields[f.name] = list(v) if isinstance(v, tuple) else v
    return {"kind": kind, **fields}


def _untagged(data: Any, kinds: Mapping[str, type], what: str) -> Any:
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str) or data["kind"] not in kinds:
        raise FixtureError(f"{what} must be an object with `kind` in {sorted(kinds)}, got {data!r}")
    cls = kinds[data["kind"]]
    args = {k: v for k, v in data.items() if k != "kind"}
    return _build(cls, args, f"{what} `{data['kind']}`")


def _build(cls: type, args: dict[str, Any], what: str) -> Any:
    """`cls(**args)` once every field has the type its annotation names (numbers finite, >= 0)."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(args) - set(fields)
    if unknown:
        raise FixtureError(f"{what} has unknown fields {sorted(unknown)}")
    hints = typing.get_type_hints(cls)
    checked = {name: _typed(value, hints[name], f"{what} field `{name}`") for name, value in args.items()}
    try:
        built = cls(**checked)
    except (TypeError, ValueError) as exc:
        raise FixtureError(f"bad {what}: {exc}") from None
    _check_order(built, what)
    return built


def _typed(value: Any, hint: Any, what: str) -> Any:
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise FixtureError(f"{what} must not be null")
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is str and isinstance(value, str):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise FixtureError(f"{what} must not be negative, got {value}")
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value) or value < 0:
                raise FixtureError(f"{what} must be a finite number >= 0, got {value}")
            return float(value)
        if typing.get_origin(option) is tuple and isinstance(value, list):
            if not all(isinstance(item, str) for item in value):
                raise FixtureError(f"{what} must be a list of names")
            return tuple(value)
        if option is Latency or option in _LATENCY_KINDS.values():
            return _untagged(value, _LATENCY_KINDS, "latency")
    raise FixtureError(f"{what} has the wrong type: {value!r}")


def _check_order(built: Any, what: str) -> None:
    """Ranges whose ends must come in order."""
    pairs = {
        UniformLatency: ("low_ms", "high_ms"),
        Partition: ("start_ms", "end_ms"),
        Crash: ("at_ms", "restart_ms"),
    }
    names = pairs.get(type(built))
    if names is not None:
        low, high = (getattr(built, n) for n in names)
        if high is not None and high < low:
            raise FixtureError(f"{what}: `{names[1]}` ({high}) comes before `{names[0]}` ({low})")


def link_to_json(link: LinkModel) -> dict[str, Any]:
    """A link model as JSON."""
    data = dataclasses.asdict(link)
    data["latency"] = _tagged(link.latency, _LATENCY_KINDS)
    return data


def link_from_json(data: Any) -> LinkModel:
    """A link model from JSON."""
    if not isinstance(data, dict):
        raise FixtureError(f"a link model must be an object, got {data!r}")
    link: LinkModel = _build(LinkModel, dict(data), "link model")
    return link


def event_to_json(event: FaultEvent) -> dict[str, Any]:
    """A fault event as JSON (`{"kind": ..., fields...}`)."""
    return _tagged(event, _EVENT_KINDS)


def event_from_json(data: Any) -> FaultEvent:
    """A fault event from JSON."""
    event: FaultEvent = _untagged(data, _EVENT_KINDS, "fault event")
    return event


def fixture_to_json(fixture: SimulationFixture) -> dict[str, Any]:
    """The JSON document of a fixture."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "protocol": fixture.protocol,
        "seed": fixture.seed,
        "params": dict(fixture.params),
        "network": {
            "default": link_to_json(fixture.network.default),
            "links": [
                {"src": o.src, "dst": o.dst, "model": link_to_json(o.model)} for o in fixture.network.links
            ],
        },
        "events": [event_to_json(e) for e in fixture.schedule],
        "peer_timeout": fixture.peer_timeout,
        "horizon": fixture.horizon,
        "policy": fixture.policy,
        "behaviours": fixture.behaviours,
        "note": fixture.note,
    }


def fixture_from_json(data: Any) -> SimulationFixture:
    """A fixture from its JSON document; raises FixtureError on anything malformed."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FixtureError(f'not a simulation fixture (expected "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise FixtureError(f"unsupported fixture version {data.get('version')!r} (this is version {VERSION})")
    seed = data.get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise FixtureError(f"`seed` must be an integer, got {seed!r}")
    network = data.get("network", {})
    if not isinstance(network, dict):
        raise FixtureError("`network` must be an object")
    overrides = network.get("links", [])
    if not isinstance(overrides, list):
        raise FixtureError("`network.links` must be a list")
    links = []
    for entry in overrides:
        if not isinstance(entry, dict) or not {"src", "dst", "model"} <= set(entry):
            raise FixtureError(f"a link override needs src, dst and model, got {entry!r}")
        if not isinstance(entry["src"], str) or not isinstance(entry["dst"], str):
            raise FixtureError(f"a link override's src and dst are role names, got {entry!r}")
        links.append(LinkOverride(entry["src"], entry["dst"], link_from_json(entry["model"])))
    default = link_from_json(network["default"]) if "default" in network else LinkModel()
    events = data.get("events", [])
    if not isinstance(events, list):
        raise FixtureError("`events` must be a list")
    params = data.get("params") or {}
    if not isinstance(params, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in params.values()
    ):
        raise FixtureError("`params` must map names to integers >= 0")
    protocol = data.get("protocol")
    settings = {
        name: _typed(data[name], hint, f"`{name}`")
        for name, hint in (("peer_timeout", float | None), ("horizon", float))
        if name in data
    }
    if settings.get("horizon", 1.0) == 0:
        raise FixtureError("`horizon` must be positive")
    texts = {name: data.get(name) for name in ("policy", "behaviours")}
    if not all(v is None or isinstance(v, str) for v in texts.values()):
        raise FixtureError("`policy` and `behaviours` must be strings or null")
    return SimulationFixture(
        seed=seed,
        network=NetworkModel(default, tuple(links)),
        schedule=tuple(event_from_json(e) for e in events),
        protocol=protocol if isinstance(protocol, str) else None,
        params=params,
        note=str(data.get("note", "")),
        peer_timeout=settings.get("peer_timeout", 30.0),
        horizon=settings.get("horizon", 3600.0),
        policy=texts["policy"],
        behaviours=texts["behaviours"],
    )


def write_fixture(path: Path, fixture: SimulationFixture) -> None:
    """Write a fixture as pretty JSON."""
    path.write_text(json.dumps(fixture_to_json(fixture), indent=2) + "\n", encoding="utf-8")


def read_fixture(path: Path) -> SimulationFixture:
    """Read a fixture; raises FixtureError (never a raw JSON or OS error) on a bad file."""
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_FIXTURE_BYTES:
            raise FixtureError(f"{path} is {len(raw)} bytes, over the {MAX_FIXTURE_BYTES}-byte limit")
        data = json.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise FixtureError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise FixtureError(f"{path} is not UTF-8 text (a fixture is a JSON file)") from None
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    except RecursionError:
        raise FixtureError(f"{path}: JSON nested too deep") from None
    return fixture_from_json(data)
