"""The text and JSON reports of `aura-choreo simulate` (split from `cmd_simulate.py`)."""

from __future__ import annotations

from collections.abc import Sequence

from aura_choreo.diagnostics import sort_diagnostics
from aura_choreo.errors import ChoreographyError
from aura_choreo.protocol import Protocol
from aura_choreo.testing.simulation import RunResult, SimulationReport


def describe(result: RunResult) -> str:
    if result.failure is None:
        delivered = len(result.trace.deliveries())
        return f"seed {result.seed}: ok ({delivered} messages, {result.duration:.3f}s virtual)"
    return f"seed {result.seed}: FAILED {result.failure}"


def roles_text(roles: tuple[str, ...]) -> str:
    """`Leader, Followers[0..99]`: consecutive family instances folded into a range."""
    parts: list[str] = []
    run: tuple[str, int, int] | None = None
    for role in roles:
        family, _, rest = role.partition("[")
        index = int(rest[:-1]) if rest.endswith("]") and rest[:-1].isdigit() else None
        if run is not None and index is not None and family == run[0] and index == run[2] + 1:
            run = (run[0], run[1], index)
            continue
        if run is not None:
            parts.append(f"{run[0]}[{run[1]}]" if run[1] == run[2] else f"{run[0]}[{run[1]}..{run[2]}]")
            run = None
        if index is None:
            parts.append(role)
        else:
            run = (family, index, index)
    if run is not None:
        parts.append(f"{run[0]}[{run[1]}]" if run[1] == run[2] else f"{run[0]}[{run[1]}..{run[2]}]")
    return ", ".join(parts)


def summary(protocol: Protocol, report: SimulationReport, seeds: Sequence[int]) -> list[str]:
    runs = report.runs
    failed = report.failures
    lost = sum(r.transport.lost for r in runs)
    duplicated = sum(r.transport.duplicated for r in runs)
    delivered = sum(len(r.trace.deliveries()) for r in runs)
    longest = max((r.duration for r in runs), default=0.0)
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}..{seeds[-1]}"
    lines = [
        f"{protocol.qualified_name}: {len(runs)} run{'s' if len(runs) != 1 else ''} ({seed_text}), "
        f"{len(runs) - len(failed)} ok, "
        f"{len(failed)} failed",
        f"  roles: {roles_text(protocol.roles)}",
        f"  messages delivered: {delivered}; frames lost: {lost}, duplicated: {duplicated}; "
        f"longest run: {longest:.3f}s virtual",
    ]
    restarts = sum(len(r.restarted) for r in runs)
    if restarts:
        lines.append(f"  restarts from a checkpoint (wiped roles): {restarts}")
    for result in failed[:20]:
        lines.append("  " + describe(result))
    if len(failed) > 20:
        lines.append(f"  ... and {len(failed) - 20} more failing seeds")
    return lines


def report_json(reports: list[tuple[Protocol, SimulationReport]]) -> dict[str, object]:
    if len(reports) == 1:
        protocol, report = reports[0]
        return {"protocol": protocol.qualified_name, **report.to_json()}
    documents = [{"protocol": p.qualified_name, **r.to_json()} for p, r in reports]
    failures = [{"protocol": d["protocol"], **f} for d in documents for f in d["failures"]]  # type: ignore[attr-defined]
    return {
        "ok": all(d["ok"] for d in documents),
        "runs": sum(int(d["runs"]) for d in documents),  # type: ignore[call-overload]
        "failed_runs": sum(int(d["failed_runs"]) for d in documents),  # type: ignore[call-overload]
        "failures": failures,
        "trace": documents[0]["trace"] if documents else [],
        "protocols": documents,
    }


def load_failure_json(error: ChoreographyError) -> dict[str, object]:
    """The SPEC §7 report when the file did not load: no run, the load's diagnostics as an extra field
    (a consumer of the report finds every field it reads; one of `validate --json` finds `diagnostics`)."""
    diagnostics = [d.to_json() for d in sort_diagnostics(error.diagnostics)]
    return {"ok": False, "runs": 0, "failed_runs": 0, "failures": [], "trace": [], "diagnostics": diagnostics}
