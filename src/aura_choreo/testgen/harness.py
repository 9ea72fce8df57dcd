"""The run-time half of a generated suite: runs a protocol on the simulator with the user's behaviours,
forcing decisions, slowing or failing one send, or running the guard chain, and explains failures.

Generated tests stay short (one call each) and every failure says which branch, message or guard it
was about. Behaviours are strict about payloads: a role whose behaviour lacks the payload method for a
message it sends fails the run naming that message (the default behaviour would otherwise hide it).
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from aura_choreo.guards import build_guard_extension, parse_policy
from aura_choreo.projection.render_text import render_text
from aura_choreo.protocol import Protocol, load
from aura_choreo.runtime import ExtensionRegistry
from aura_choreo.runtime.trace import Trace
from aura_choreo.testgen.plan import family, is_method_name
from aura_choreo.testing import SimulationConfig, check_trace, run_simulation
from aura_choreo.testing.results import RunResult
from aura_choreo.verify import role_manifest

Spec = Mapping[str, Any]


class MissingBehaviour(AssertionError):
    """The user's behaviours do not provide a payload the protocol needs."""


class InjectedFailure(RuntimeError):
    """Raised on purpose by a saga test so that the saga compensates."""


class _Role:
    """The user's behaviour for one role, with the test's forcing applied on top."""

    def __init__(self, role: str, user: object, sends: Sequence[str], spec: Spec, where: str):
        self._role, self._user, self._sends, self._where = role, user, set(sends), where
        self._forced = {
            f["choice"]: f["label"]
            for f in spec.get("path", [])
            if f["kind"] == "choose" and f["role"] == role
        }
        self._fields: dict[str, dict[str, object]] = {}
        for f in spec.get("path", []):
            if f["kind"] == "field" and f["role"] == role:
                self._fields.setdefault(f["label"], {})[f["field"]] = f["value"]
        self._slow = spec.get("slow") if spec.get("slow", {}).get("role") == role else None
        self._fail = spec.get("fail") if spec.get("fail", {}).get("role") == role else None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("choose_") and name[7:] in self._forced:
            label = self._forced.pop(name[7:])  # forced once: a loop decides freely afterwards
            return lambda env: label
        if name in self._sends:
            return self._payload(name)
        return getattr(self._user, name)

    def _payload(self, label: str) -> Callable[[dict[str, object]], object]:
        method = getattr(self._user, label, None)
        if not callable(method):
            raise MissingBehaviour(
                f"{self._where} has no method `{label}`: the payload {self._role} sends as `{label}`"
            )
        slow = self._slow if self._slow and self._slow["label"] == label else None
        fail = self._fail if self._fail and self._fail["label"] == label else None

        def payload(env: dict[str, object]) -> object:
            if fail is not None:
                raise InjectedFailure(f"injected failure of `{label}` (saga test)")
            value = method(env)
            # Forced once, like a choice: a field that ends a loop (`if end_stream { break }`) forced
            # to stay in it on every send kept the loop going for ever (hunt7: http_cancellation).
            overrides = self._fields.pop(label, None)
            if overrides and isinstance(value, dict):
                value = {**value, **overrides}
            if slow is None:
                return value

            async def late() -> object:
                await asyncio.sleep(float(slow["seconds"]))
                return value

            return late()

        return payload


class Harness:
    """One protocol and the user's behaviours for it (role family -> behaviour class)."""

    def __init__(
        self, protocol: Protocol, behaviours: Mapping[str, type], sends: Mapping[str, Sequence[str]]
    ):
        self.protocol = protocol
        self.behaviours = dict(behaviours)
        self.sends = {k: list(v) for k, v in sends.items()}

    @staticmethod
    def load(
        path: str,
        name: str,
        params: Mapping[str, int],
        behaviours: Mapping[str, type],
        sends: Mapping[str, Sequence[str]],
    ) -> Harness:
        return Harness(load(path, name, params=dict(params)), behaviours, sends)

    def _roles(self, spec: Spec) -> Callable[[str], object]:
        def make(role: str) -> object:
            cls = self.behaviours.get(family(role))
            where = (
                f"behaviours.py: `{cls.__name__}`"
                if cls is not None
                else f"behaviours.py (no class for `{family(role)}`)"
            )
            user = cls() if cls is not None else object()
            sends = [s for s in self.sends.get(family(role), []) if is_method_name(s)]
            return _Role(role, user, sends, spec, where)

        return make

    def run(
        self,
        spec: Spec | None = None,
        *,
        seed: int = 0,
        config: SimulationConfig | None = None,
        policy: Mapping[str, Any] | None = None,
    ) -> RunResult:
        spec = spec or {}
        extensions, devices = None, None
        if policy is not None:
            parsed = parse_policy(dict(policy), source="<generated test>")
            extensions = lambda clock: build_guard_extension(parsed, clock=clock).install(ExtensionRegistry())  # noqa: E731
            devices = parsed.session_devices(self.protocol.roles)
        return run_simulation(
            self.protocol, seed, config, roles=self._roles(spec), extensions=extensions, devices=devices
        )

    # -- what the generated tests call ------------------------------------------------------------------
    def happy_path(self, role: str, seed: int = 0, local_type: str | None = None) -> None:
        """A run with the user's behaviours finishes, follows the protocol, and `role` takes part.

        `local_type` is the role's local type (as `project` prints it) when the test was generated:
        the protocol is loaded afresh from its file and every run is checked against it, so without
        this pin an edited protocol (messages swapped, added, dropped) would pass as "the protocol"."""
        if local_type is not None:
            now = render_text(self.protocol.local_type(role))
            assert now == local_type, (
                f"happy path ({role}): the protocol changed since `aura-choreo test-gen` wrote this test; "
                f"rerun it (behaviours.py is kept).\n{role}'s local type was:\n{local_type}now:\n{now}"
            )
        result = self.run(seed=seed)
        _ok(result, f"happy path ({role})")
        report = check_trace(self.protocol, result.trace)
        assert report.ok, f"happy path ({role}): the trace departs from the protocol: {report.issues[0]}"
        steps = self.protocol.local_type(role).steps
        if steps:
            assert any(e.role == role for e in result.trace), f"happy path: {role} did nothing"

    def branch(self, spec: Spec) -> None:
        """Forcing the branch's decisions takes it: its own messages are sent, the others' are not."""
        what = f"branch `{spec['label']}` of {spec['construct']} `{spec['choice']}`"
        result = self.run(spec)
        _ok(result, what)
        labels = {e.label for e in result.trace if e.kind == "send"}
        if spec.get("decider"):
            chosen = [e.label for e in result.trace if e.kind == "choose" and e.role == spec["decider"]]
            assert spec["label"] in chosen, f"{what}: {spec['decider']} never chose it (chose {chosen})"
        missing = [m for m in spec["seen"] if m not in labels]
        assert not missing, f"{what}: forced, but its messages {missing} were never sent"
        if not spec["seen"] and not spec.get("decider"):  # a decider's choice is proof enough
            stray = [m for m in spec["absent"] if m in labels]
            assert not stray, f"{what}: forced, but another branch's messages {stray} were sent"
        report = check_trace(self.protocol, result.trace)
        assert report.ok, f"{what}: the trace departs from the protocol: {report.issues[0]}"

    def _policy(
        self,
        *,
        drop: tuple[str, str] | None = None,
        flow_limit: tuple[str, int] | None = None,
        leakage_limits: tuple[str, list[int]] | None = None,
    ) -> dict[str, Any]:
        devices: dict[str, dict[str, object]] = {}
        for role, lt in self.protocol.local_types().items():
            caps = sorted(set(role_manifest(lt)) - ({drop[1]} if drop and drop[0] == role else set()))
            device: dict[str, object] = {
                "capabilities": caps,
                "flow_limit": 10**12,
                "leakage_limits": [10**12] * 3,
            }
            if flow_limit and flow_limit[0] == role:
                device["flow_limit"] = flow_limit[1]
            if leakage_limits and leakage_limits[0] == role:
                device["leakage_limits"] = leakage_limits[1]
            devices[role] = device
        return {"devices": devices, "signing": False}

    def guard_allows(self) -> None:
        """With every role holding its manifest and ample budgets, the guard chain denies nothing."""
        result = self.run(policy=self._policy())
        _ok(result, "guard chain with every manifest granted")

    def guard_denial(self, spec: Spec) -> None:
        """Taking away what one guarded send needs makes the guard chain refuse, naming the role."""
        if spec["kind"] == "capability":
            what = f"capability `{spec['capability']}` of {spec['role']} (for `{spec['label']}`)"
            expected = "CapabilityDenied"
            policy = self._policy(drop=(spec["role"], spec["capability"]))
        elif spec["kind"] == "leakage":
            # One observer class gets a limit just below what this send charges; the others stay ample.
            budget = [int(x) for x in spec["budget"]]
            tight = next(i for i, x in enumerate(budget) if x > 0)
            limits = [10**12] * 3
            limits[tight] = budget[tight] - 1
            what = f"leakage budget of {spec['role']} (`{spec['label']}` leaks {budget})"
            expected = "LeakageExceeded"
            policy = self._policy(leakage_limits=(spec["role"], limits))
        else:
            what = f"flow budget of {spec['role']} (`{spec['label']}` costs {spec['cost']})"
            expected = "BudgetExhausted"
            policy = self._policy(flow_limit=(spec["role"], int(spec["cost"]) - 1))
        result = self.run(spec, policy=policy)
        if spec.get("in_try") and result.failure is None:  # the step failed; its saga compensated
            compensated = [e for e in result.trace if e.is_control and e.label == "Compensate"]
            assert compensated, f"{what}: denied by policy inside a try block, yet nothing was compensated"
            return
        assert result.failure is not None, f"{what}: denied by policy, yet the run succeeded"
        assert result.failure.error == expected, f"{what}: expected {expected}, got {result.failure}"
        assert result.failure.role == spec["role"], f"{what}: the refusal names {result.failure.role}"

    def timeout(self, spec: Spec) -> None:
        """A send slower than the deadline makes the waiter take the timeout branch."""
        what = f"timeout of {spec['deadline_ms']} ms on `{spec['label']}`"
        slow = {"role": spec["role"], "label": spec["label"], "seconds": spec["deadline_ms"] / 1000 + 1}
        result = self.run({**spec, "slow": slow})
        _ok(result, what)
        fired = [e for e in result.trace if e.kind == "timeout"]
        assert fired, f"{what}: the send was late, yet no role timed out"

    def saga(self, spec: Spec) -> None:
        """A failing step of the saga's body makes its coordinator compensate."""
        what = f"saga compensation (failing `{spec['label']}` of {spec['role']})"
        result = self.run({**spec, "fail": {"role": spec["role"], "label": spec["label"]}})
        compensated = [e for e in result.trace if e.is_control and e.label == "Compensate"]
        assert compensated, f"{what}: no Compensate was sent ({result.failure})"

    def faults(self, seed: int, config: SimulationConfig) -> None:
        """On a lossy, duplicating, reordering network the session layer masks every fault."""
        result = self.run(seed=seed, config=config)
        _ok(result, f"faulty network (seed {seed})")
        report = check_trace(self.protocol, result.trace)
        assert report.ok, f"faulty network (seed {seed}): {report.issues[0]}"


def load_behaviours(path: str | Path) -> ModuleType:
    """Import a suite's `behaviours.py` under a name of its own (several suites may run in one pytest)."""
    path = Path(path).resolve()
    name = "behaviours_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _ok(result: RunResult, what: str) -> None:
    assert result.failure is None, f"{what}: the run failed: {result.failure}"


def trace_labels(trace: Trace) -> list[str]:
    return [e.label for e in trace if e.kind == "send"]
