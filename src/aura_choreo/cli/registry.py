"""The command table: name -> (module implementing it, one-line summary).

Modules are imported only when their command runs, so `aura-choreo --help` stays fast. A command
whose module is None or absent has not landed yet and says so (exit 2).
"""

from __future__ import annotations

_CLI = "aura_choreo.cli."

COMMANDS: dict[str, tuple[str | None, str]] = {
    "validate": (_CLI + "cmd_validate", "Check choreographies: syntax, names, projection, deadlocks."),
    "project": (_CLI + "cmd_project", "Show the local protocol of each role (text, JSON, DOT, Mermaid)."),
    "fmt": (_CLI + "cmd_fmt", "Print a choreography in canonical form (--check to verify)."),
    "simulate": (_CLI + "cmd_simulate", "Run every role on a seeded, faulty simulated network."),
    "check-trace": (_CLI + "cmd_check_trace", "Check a recorded trace against the global protocol."),
    "subtype": (_CLI + "cmd_subtype", "Check that a hand-written role machine may replace a projection."),
    "compile": (_CLI + "cmd_compile", "Generate a typed Python package per choreography."),
    "run": (_CLI + "cmd_run", "Run one role over a real network (tcp://, TLS 1.3, pinned keys)."),
    "keygen": (_CLI + "cmd_keygen", "Create a device's Ed25519 key pair and print its public key."),
    "profile": (_CLI + "cmd_profile", "Measure a protocol's cost per role and message."),
    "doc": (_CLI + "cmd_doc", "Write HTML documentation with sequence diagrams."),
    "test-gen": (_CLI + "cmd_test_gen", "Generate a pytest suite for a choreography."),
}
