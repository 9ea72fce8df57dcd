"""Replayable fixtures: a seed, a network model and a fault schedule as JSON (`simulate --replay FILE`)."""

from __future__ import annotations

import dataclasses
import json
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


def _tagged(value: Any, kinds: Mapping[str, type]) -> dict[str, Any]:
    kind = next(k for k, cls in kinds.items() if isinstance(value, cls))
    fields = {}
    for f in dataclasses.fields(value):
        v = getattr(value, f.name)
        fields[f.name] = list(v) if isinstance(v, tuple) else v
    return {"kind": kind, **fields}


def _untagged(data: Any, kinds: Mapping[str, type], what: str) -> Any:
    if not isinstance(data, dict) or data.get("kind") not in kinds:
        raise FixtureError(f"{what} must be an object with `kind` in {sorted(kinds)}, got {data!r}")
    cls = kinds[data["kind"]]
    names = {f.name for f in dataclasses.fields(cls)}
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k != "kind"}
    unknown = set(args) - names
    if unknown:
        raise FixtureError(f"{what} `{data['kind']}` has unknown fields {sorted(unknown)}")
    try:
        return cls(**args)
    except (TypeError, ValueError) as exc:
        raise FixtureError(f"bad {what} {data!r}: {exc}") from None


def link_to_json(link: LinkModel) -> dict[str, Any]:
    """A link model as JSON."""
    data = dataclasses.asdict(link)
    data["latency"] = _tagged(link.latency, _LATENCY_KINDS)
    return data


def link_from_json(data: Any) -> LinkModel:
    """A link model from JSON."""
    if not isinstance(data, dict):
        raise FixtureError(f"a link model must be an object, got {data!r}")
    args = dict(data)
    if "latency" in args:
        args["latency"] = _untagged(args["latency"], _LATENCY_KINDS, "latency")
    try:
        return LinkModel(**args)
    except (TypeError, ValueError) as exc:
        raise FixtureError(f"bad link model {data!r}: {exc}") from None


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
        "note": fixture.note,
    }


def fixture_from_json(data: Any) -> SimulationFixture:
    """A fixture from its JSON document; raises FixtureError on anything malformed."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FixtureError(f'not a simulation fixture (expected "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise FixtureError(f"unsupported fixture version {data.get('version')!r} (this is version {VERSION})")
    seed = data.get("seed")
    if not isinstance(seed, int):
        raise FixtureError(f"`seed` must be an integer, got {seed!r}")
    network = data.get("network", {})
    if not isinstance(network, dict):
        raise FixtureError("`network` must be an object")
    links = []
    for entry in network.get("links", []):
        if not isinstance(entry, dict) or not {"src", "dst", "model"} <= set(entry):
            raise FixtureError(f"a link override needs src, dst and model, got {entry!r}")
        links.append(LinkOverride(str(entry["src"]), str(entry["dst"]), link_from_json(entry["model"])))
    default = link_from_json(network["default"]) if "default" in network else LinkModel()
    events = data.get("events", [])
    if not isinstance(events, list):
        raise FixtureError("`events` must be a list")
    params = data.get("params") or {}
    if not isinstance(params, dict) or not all(isinstance(v, int) for v in params.values()):
        raise FixtureError("`params` must map names to integers")
    protocol = data.get("protocol")
    return SimulationFixture(
        seed=seed,
        network=NetworkModel(default, tuple(links)),
        schedule=tuple(event_from_json(e) for e in events),
        protocol=protocol if isinstance(protocol, str) else None,
        params=params,
        note=str(data.get("note", "")),
    )


def write_fixture(path: Path, fixture: SimulationFixture) -> None:
    """Write a fixture as pretty JSON."""
    path.write_text(json.dumps(fixture_to_json(fixture), indent=2) + "\n", encoding="utf-8")


def read_fixture(path: Path) -> SimulationFixture:
    """Read a fixture; raises FixtureError (never a raw JSON or OS error) on a bad file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FixtureError(f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise FixtureError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    return fixture_from_json(data)
