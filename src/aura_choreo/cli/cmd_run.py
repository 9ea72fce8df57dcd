"""`aura-choreo run FILE --role R --policy POLICY --key KEYFILE ...`: one role over the network (§5.6).

    aura-choreo run tpc.choreo --role Coordinator --policy deploy.toml --key keys/coord.key --json

Every role of a session runs this in its own process (or machine); they find each other through the
policy's device addresses (or `--listen`/`--peer`), authenticate with their device keys, and run with
the same monitor, guard chain and journal as in-process runs. Exit 0 when the role completed, 1 when
the run failed, 2 on a usage error (bad flags, policy or key).
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from aura_choreo.cli.output import fail, print_diagnostics, print_json, remember, require_files
from aura_choreo.cli.params import parse_params
from aura_choreo.cli.policy_arg import read_policy
from aura_choreo.deployment import DeploymentError, RunOutcome, plan_deployment, run_deployed_role
from aura_choreo.deployment.report import load_failure_json
from aura_choreo.errors import ChoreographyError, JournalError, KeyFileError
from aura_choreo.guards import PolicyError
from aura_choreo.protocol import Protocol, load
from aura_choreo.protocol_value import protocol_hash
from aura_choreo.transports.net.identity import load_identity


def _protocol(
    file: str, name: str | None, params: dict[str, int], *, role: str, session: str | None, as_json: bool
) -> Protocol:
    require_files(file)
    protocol: Protocol | None = None
    try:
        protocol = load(file, name, params=params)
        protocol.require_bound()  # a run needs every family size: the default 3 is for analysis only
        return protocol
    except ChoreographyError as exc:
        if as_json:  # the §5.6 result, not validate's document: `run --json` has one shape
            named = protocol.qualified_name if protocol is not None else None
            print_json(load_failure_json(exc, role, protocol=named, session=session))
        print_diagnostics(exc.diagnostics, exc.sources)
        raise SystemExit(1) from None


def _policy_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(f"{path}: cannot read policy file: {exc.strerror or exc}", code=2)
        raise


def _peers(values: tuple[str, ...]) -> dict[str, str]:
    peers: dict[str, str] = {}
    for value in values:
        role, sep, address = value.partition("=")
        if not sep or not role or not address:
            fail(f"--peer expects ROLE=ADDRESS, got {value!r}", code=2)
        peers[role] = address
    return peers


@click.command(name="run", help="Run one role over a real network (tcp:// or ws://, TLS 1.3, pinned keys).")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--role", required=True, help="The role this process plays.")
@click.option("--policy", "policy_file", required=True, help="The policy / deployment file.")
@click.option("--key", "key_file", required=True, help="This device's key file (from `keygen`).")
@click.option("--session", "session_id", default=None, help="Session id (default: from protocol and policy).")
@click.option("--protocol", "protocol_name", default=None, help="The choreography, if FILE has several.")
@click.option("--param", "param_values", multiple=True, metavar="K=V", help="Bind a family size/parameter.")
@click.option("--behaviours", default=None, metavar="MOD:OBJ", help="User behaviours (module or .py file).")
@click.option("--seed", type=int, default=None, help="Seed of the default behaviour (default: role index).")
@click.option("--listen", default=None, metavar="ADDR", help="Listen here instead of the policy's address.")
@click.option("--peer", "peer_values", multiple=True, metavar="ROLE=ADDR", help="A peer's address override.")
@click.option(
    "--connect-timeout", type=float, default=30.0, show_default=True, help="Seconds to reach peers."
)
@click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Seconds a silent peer may take."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@click.option("--quiet", is_flag=True, help="No status lines.")
@click.option(
    "--fault-drop-after", type=int, default=None, hidden=True, help="Test hook: drop the connection."
)
def command(
    file: str,
    role: str,
    policy_file: str,
    key_file: str,
    session_id: str | None,
    protocol_name: str | None,
    param_values: tuple[str, ...],
    behaviours: str | None,
    seed: int | None,
    listen: str | None,
    peer_values: tuple[str, ...],
    connect_timeout: float,
    timeout: float,
    as_json: bool,
    quiet: bool,
    fault_drop_after: int | None,
) -> None:
    if connect_timeout <= 0 or timeout <= 0:
        fail("--connect-timeout and --timeout must be positive", code=2)
    params = parse_params(param_values)
    protocol = _protocol(file, protocol_name, params, role=role, session=session_id, as_json=as_json)
    remember(protocol=protocol.qualified_name, protocol_hash=protocol_hash(protocol))
    policy_text = _policy_bytes(policy_file)
    try:
        policy = read_policy(policy_file)
        if role in protocol.roles:
            remember(device=policy.device_of(role))
        identity = load_identity(key_file, device=policy.device_of(role) if role in protocol.roles else None)
        deployment = plan_deployment(
            protocol,
            policy,
            identity,
            role,
            session=session_id,
            policy_text=policy_text,
            listen=listen,
            peer_addresses=_peers(peer_values),
        )
    except (PolicyError, KeyFileError, DeploymentError) as exc:
        fail(str(exc), code=2)
        return
    code = _behaviour(behaviours, role)
    show = not quiet and not as_json and sys.stderr.isatty()

    def role_run(interrupt: asyncio.Future[str]) -> Coroutine[Any, Any, RunOutcome]:
        return run_deployed_role(
            deployment,
            code,
            seed=protocol.roles.index(role) if seed is None else seed,
            connect_timeout=connect_timeout,
            peer_timeout=timeout,
            on_status=(lambda line: click.echo(f"[{role}] {line}", err=True)) if show else None,
            drop_after_frames=fault_drop_after,
            interrupt=interrupt,
        )

    outcome = asyncio.run(_until_signalled(role_run))
    if isinstance(outcome.error, JournalError):  # the policy's journal or storage file: a usage error
        named = JournalError(f"{policy_file}: {outcome.error}")  # which policy names the file
        if as_json:
            print_json(dataclasses.replace(outcome, error=named).to_json())
        fail(str(named), code=2)
    _report(outcome, as_json, quiet)
    if not outcome.ok:
        raise SystemExit(1)


async def _until_signalled(run: Any) -> RunOutcome:
    """`run(interrupt)`, where SIGINT (Ctrl-C) or SIGTERM (a process manager) resolves `interrupt`: the
    role stops and its result, with the trace so far, is still reported (`--json` stays JSON)."""
    loop = asyncio.get_running_loop()
    interrupt: asyncio.Future[str] = loop.create_future()

    def stop(name: str) -> None:
        if not interrupt.done():
            interrupt.set_result(name)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop, sig.name)
    try:
        outcome: RunOutcome = await run(interrupt)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    return outcome


def _behaviour(spec: str | None, role: str) -> object:
    if spec is None:
        return None
    from aura_choreo.testing.behaviour_loading import BehaviourLoadError, load_roles

    try:
        roles = load_roles(spec)
    except BehaviourLoadError as exc:
        fail(str(exc), code=2)
        return None
    if callable(roles):
        return roles(role)
    return roles.get(role)


def _report(outcome: RunOutcome, as_json: bool, quiet: bool) -> None:
    if as_json:
        print_json(outcome.to_json())
    d = outcome.deployment
    if outcome.ok:
        if not quiet and not as_json:
            sent = sum(1 for e in outcome.events if e.kind == "send")
            received = sum(1 for e in outcome.events if e.kind == "recv")
            click.echo(
                f"{d.role} ({d.device}) completed session {d.session}: {sent} sent, {received} received"
            )
        return
    click.echo(f"error: {d.role} ({d.device}) failed in session {d.session}: {outcome.error}", err=True)
