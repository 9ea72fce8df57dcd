"""The two-phase commit with each role in its own process, over authenticated tcp:// on loopback.

What `aura-choreo keygen` and `aura-choreo run` do by hand, scripted: a key pair per device, a policy
(the deployment file) pinning each device's public key and address, one `run --json` process per role,
and the two traces merged and checked against the global protocol.

    .venv/bin/python examples/two_process_run.py
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from aura_choreo import load
from aura_choreo.deployment.traces import events_of_run_document, merge_role_traces
from aura_choreo.testing import check_trace
from aura_choreo.transports.net.identity import write_key_file

SOURCE = Path(__file__).resolve().parent / "two_phase_commit.choreo"
DEVICES = {"Coordinator": "coordinator-host", "Participant": "participant-host"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_policy(folder: Path) -> Path:
    lines = ["[roles]"] + [f'{role} = "{device}"' for role, device in DEVICES.items()]
    for device in DEVICES.values():
        _, public_key = write_key_file(device, folder)
        lines += ["", f'[devices."{device}"]', f'public_key = "{public_key}"']
        lines += [f'address = "tcp://127.0.0.1:{free_port()}"']
    policy = folder / "policy.toml"
    policy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return policy


def run_two_processes() -> bool:
    """Start both roles as processes, wait for both, print and check what they did."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        policy = write_policy(folder)
        processes = {}
        for role, device in DEVICES.items():
            command = [
                sys.executable, "-m", "aura_choreo.cli", "run", str(SOURCE), "--role", role,
                "--policy", str(policy), "--key", str(folder / f"{device}.key"), "--json",
            ]  # fmt: skip
            pipe = subprocess.PIPE
            processes[role] = subprocess.Popen(command, stdout=pipe, stderr=pipe, text=True)
        documents = {}
        ok = True
        for role, process in processes.items():
            out, err = process.communicate(timeout=120)
            document = json.loads(out) if out.strip() else {"ok": False, "error": err}
            documents[role] = document
            status = "ok" if process.returncode == 0 else f"exit {process.returncode}: {err.strip()}"
            print(f"  process {process.pid} ran {role} as {DEVICES[role]}: {status}")
            ok = ok and process.returncode == 0
        if not ok:
            return False
        first = next(iter(documents.values()))
        print(f"  session {first['session']}, protocol hash {str(first['protocol_hash'])[:16]}...")
        merged = merge_role_traces(events_of_run_document(d) for d in documents.values())
        for event in merged:
            if event.kind == "send":
                print(f"  {event.sender} -> {event.receiver}: {event.label}")
        verdict = check_trace(load(SOURCE), merged)
        print(f"  trace check of both processes' traces: {'ok' if verdict.ok else 'FAILED'}")
        return verdict.ok


if __name__ == "__main__":
    sys.exit(0 if run_two_processes() else 1)
