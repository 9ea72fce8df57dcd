"""The parts of `run --json` (SPEC §5.6) that do not need a finished run: the `error` object, and the
whole result of a run that never started (a usage error, a protocol that did not load or bind).

`run --json` answers in the §5.6 shape whatever went wrong, so a consumer reading `ok`, `role`,
`trace` or `error` finds them on a load failure too; the load's diagnostics ride along as an extra
`diagnostics` field (SPEC §7: fields may be added, none removed).
"""

from __future__ import annotations

from aura_choreo.diagnostics import sort_diagnostics
from aura_choreo.errors import ChoreographyError


def error_json(error: BaseException, role: str) -> dict[str, object]:
    """The §5.6 `error` object of a run of `role` that ended with `error`."""
    document: dict[str, object] = {
        "error": type(error).__name__,
        "role": getattr(error, "role", None) or role,
        "step": getattr(error, "step", None),
        "message": str(error),
    }
    reason = getattr(error, "reason", None)
    if reason:
        document["reason"] = reason
    return document


def not_started_json(
    role: str | None,
    error: str,
    message: str,
    *,
    protocol: str | None = None,
    protocol_hash: str | None = None,
    device: str | None = None,
    session: str | None = None,
) -> dict[str, object]:
    """`run --json`'s result when the role never started: no trace, the `error` object named `error`
    with `message`; what was not learnt before the failure (a device, a protocol hash) is null."""
    return {
        "ok": False,
        "role": role,
        "device": device,
        "session": session,
        "protocol": protocol,
        "protocol_hash": protocol_hash,
        "trace": [],
        "error": {"error": error, "role": role, "step": None, "message": message},
    }


def load_failure_json(
    error: ChoreographyError, role: str, *, protocol: str | None = None, session: str | None = None
) -> dict[str, object]:
    """`run --json`'s result when `error` stopped the protocol loading or binding: nothing ran.

    `protocol` is the choreography's name when it loaded (an unbound parameter, E014), `session` the
    `--session` given; what only a bound protocol and a policy define (device, protocol hash) is null.
    """
    diagnostics = sort_diagnostics(error.diagnostics)
    errors = [d for d in diagnostics if d.is_error] or diagnostics
    message = "; ".join(f"{d.span}: {d.severity.value}[{d.code}]: {d.message}" for d in errors[:1])
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    document = not_started_json(role, type(error).__name__, message, protocol=protocol, session=session)
    return {**document, "diagnostics": [d.to_json() for d in diagnostics]}
