"""Protocols and helpers shared by the report tests."""

from __future__ import annotations

from pathlib import Path

from aura_choreo.docs import load_files
from conftest import LITERATURE_CORPUS, SEED_CORPUS

ROOT = Path(__file__).resolve().parents[2]
TPC = ROOT / "examples" / "two_phase_commit.choreo"

EVERY_FRAME = """\
choreography EveryFrame {
    roles: Client, Server, Log, Workers[2];
    Client -> Server: Hello(name: String);
    choice Server {
        accept: {
            Server -> Client: Welcome;
            loop (count: 2) {
                Client -> Server: Ping;
                Server -> Client: Pong;
            }
        }
        reject: {
            Server -> Client: Goodbye(reason: String);
        }
    }
    parallel {
        Server -> Log: Entry;
        |
        Server -> Workers[*]: Job;
    }
    Workers[*] -> Server: Done;
    timeout(2s) {
        Server -> Client: Late;
    } or {
        Client: GiveUp();
    }
    try {
        Server -> Log: Write;
    } compensate {
        Server -> Log: Undo;
    }
}
"""


def well_formed_corpus() -> list[Path]:
    """Every seed and literature file that checks (the broken seeds document nothing)."""
    files = sorted(SEED_CORPUS.glob("*.choreo")) + sorted(LITERATURE_CORPUS.glob("*.choreo"))
    return [f for f in files if load_files([str(f)]).ok]
