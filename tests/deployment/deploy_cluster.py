"""Start one `aura-choreo run` process per role on loopback and collect their results (test helper)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from aura_choreo.cli.main import cli
from aura_choreo.deployment.traces import events_of_run_document, merge_role_traces
from aura_choreo.runtime.trace import Trace
from aura_choreo.transports.net.identity import write_key_file

RUN = [sys.executable, "-m", "aura_choreo.cli"]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def device_of(role: str) -> str:
    return "dev-" + role.lower().replace("[", "-").replace("]", "")


@dataclass
class Cluster:
    """Keys and a policy for every role of a protocol, each role on its own device and port."""

    folder: Path
    roles: Sequence[str]
    policy: Path
    keys: dict[str, Path]

    def command(self, file: Path | str, role: str, *extra: str) -> list[str]:
        return [
            *RUN, "run", str(file), "--role", role, "--policy", str(self.policy),
            "--key", str(self.keys[role]), "--json", "--connect-timeout", "20", "--timeout", "20", *extra,
        ]  # fmt: skip

    def start(self, file: Path | str, role: str, *extra: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return subprocess.Popen(
            self.command(file, role, *extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.folder,
            env=env,
        )

    def run(
        self,
        file: Path | str,
        *,
        extra: Mapping[str, Sequence[str]] | None = None,
        timeout: float = 60.0,
        only: Sequence[str] | None = None,
    ) -> dict[str, RunResult]:
        """Run every role (or `only` these) at once; wait for all; kill stragglers after `timeout`."""
        extra = extra or {}
        processes = {role: self.start(file, role, *extra.get(role, ())) for role in (only or self.roles)}
        return {role: finish(p, timeout) for role, p in processes.items()}


@dataclass
class RunResult:
    code: int
    document: dict[str, object]
    stderr: str


def finish(process: subprocess.Popen[str], timeout: float) -> RunResult:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        out, err = process.communicate()
        err += "\n[killed by the test after its timeout]"
    try:
        document = json.loads(out) if out.strip() else {}
    except json.JSONDecodeError:
        document = {"unparsed": out}
    return RunResult(process.returncode, document, err)


def make_cluster(
    folder: Path,
    roles: Sequence[str],
    *,
    capabilities: Mapping[str, Sequence[str]] | None = None,
    header: Sequence[str] = (),
    schemes: Mapping[str, str] | None = None,
) -> Cluster:
    """Keys for every role's device and a TOML policy with addresses on free loopback ports."""
    folder.mkdir(parents=True, exist_ok=True)
    ports = free_ports(len(roles))
    keys: dict[str, Path] = {}
    lines = [*header, "", "[roles]"]
    lines += [f'"{role}" = "{device_of(role)}"' for role in roles]
    for role, port in zip(roles, ports, strict=True):
        path, public = write_key_file(device_of(role), folder / "keys")
        keys[role] = path
        lines += [
            "",
            f'[devices."{device_of(role)}"]',
            f'public_key = "{public}"',
            f'address = "{(schemes or {}).get(role, "tcp")}://127.0.0.1:{port}"',
        ]
        if capabilities is not None:
            lines.append(f"capabilities = {json.dumps(list(capabilities.get(role, [])))}")
    policy = folder / "policy.toml"
    policy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Cluster(folder, roles, policy, keys)


def assert_all_ok(results: Mapping[str, RunResult]) -> None:
    """Every process exited 0 (else show what every process said: failures are often elsewhere)."""
    if all(r.code == 0 for r in results.values()):
        return
    report = "\n".join(f"--- {role}: exit {r.code}\n{r.stderr}\n{r.document}" for role, r in results.items())
    raise AssertionError(report)


def check_merged_trace(file: Path | str, results: Mapping[str, RunResult], folder: Path, *params: str) -> str:
    """Merge the `run --json` traces and run `check-trace` on them; returns its output (asserts ok)."""
    merged = merge_role_traces(events_of_run_document(r.document) for r in results.values())
    trace_file = folder / "merged.jsonl"
    trace_file.write_text(Trace(merged).to_jsonl(), encoding="utf-8")
    args = ["check-trace", str(file), str(trace_file)] + [a for p in params for a in ("--param", p)]
    outcome = CliRunner().invoke(cli, args)
    assert outcome.exit_code == 0, outcome.output
    return outcome.output


def on_broker(cluster: Cluster, url: str, roles: tuple[str, ...] | None = None) -> None:
    """Edit the policy's addresses only: every device (or those of `roles`) on the NATS server `url`."""
    text = cluster.policy.read_text(encoding="utf-8")
    lines = text.splitlines()
    device = None
    for i, line in enumerate(lines):
        header = re.match(r'\[devices\."(.+)"\]', line)
        if header:
            device = header.group(1)
        wanted = roles is None or any(device == f"dev-{r.lower()}" for r in roles)
        if line.startswith("address = ") and wanted:
            lines[i] = f'address = "{url}"'
    cluster.policy.write_text("\n".join(lines) + "\n", encoding="utf-8")
