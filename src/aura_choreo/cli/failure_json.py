"""What `--json` prints when a command ends without a result of its own (a usage error, exit 2).

One rule for every command: stdout is the command's own SPEC §7 document with `ok` false, every
field of its contract present (empty where nothing ran, filled with what is known), plus the usage
error's `error` and `hints`. A consumer of `simulate --json` finds `runs` and `failures`, one of
`validate --json` finds `diagnostics`, whatever went wrong:

- `run` (§5.6): `{ok, role, device, session, protocol, protocol_hash, trace: [],
  error: {error, role, step, message}, hints}`;
- `simulate`: `{ok, runs: 0, failed_runs: 0, failures: [], trace: [], error, hints}`;
- `validate`: `{ok, diagnostics: [], protocols: [], error, hints}`;
- `profile`: `{ok, protocols: [], error, hints}`;
- any other command: `{ok, error, hints}`.

`run`'s contract makes `error` an object (`"error": "UsageError"`, the message in `message`); the
others keep the message as the string every command printed before. `fail` (errors found by a
command) and `main` (click's own: a bad or missing option) both print through `failure_json`.
"""

from __future__ import annotations

from collections.abc import Mapping

KNOWN = "aura_choreo.known"
"""`click.Context.meta` key: what a command learnt before it failed (`run`: protocol, hash, device)."""


def failure_json(
    command: str | None,
    message: str,
    hints: list[str],
    params: Mapping[str, object],
    known: Mapping[str, object],
    *,
    kind: str = "UsageError",
) -> dict[str, object]:
    """The `--json` answer of `command` ending with the usage error `message` (see the module doc);
    `params` are the command's parsed options so far, `known` what it recorded under `KNOWN`. `kind`
    names the error in `run`'s error object (`Interrupted`: stopped by a signal, not a usage error)."""
    if command == "run":
        # Imported here: the deployment package pulls in the network carriers, which only `run` needs.
        from aura_choreo.deployment.report import not_started_json

        role = _text(params.get("role"))
        document = not_started_json(
            role,
            kind,
            message,
            protocol=_text(known.get("protocol")),
            protocol_hash=_text(known.get("protocol_hash")),
            device=_text(known.get("device")),
            session=_text(params.get("session_id")),
        )
        return {**document, "hints": hints}
    contract: dict[str, object] = {}
    if command == "simulate":
        contract = {"runs": 0, "failed_runs": 0, "failures": [], "trace": []}
    elif command == "validate":
        contract = {"diagnostics": [], "protocols": []}
    elif command == "profile":
        contract = {"protocols": []}
    return {"ok": False, **contract, "error": message, "hints": hints}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
