"""A payload field name that validates but cannot run, found by hunt6."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from aura_choreo.cli.main import cli

# SPEC §1.2: a field name is any identifier; `validate` accepts `__y`. The runtime builds a msgspec
# Struct per label whose field names are the payload's, and msgspec refuses a name Python would mangle
# (`__y` inside a class body), so the first session that needs the label dies with an internal error.
DUNDER_FIELD = "protocol K { roles: A, B; A -> B: M(__y: i32); }\n"


def test_a_field_name_that_validates_also_simulates(tmp_path: Path) -> None:
    source = tmp_path / "dunder.choreo"
    source.write_text(DUNDER_FIELD, encoding="utf-8")
    runner = CliRunner()
    validated = runner.invoke(cli, ["validate", str(source)])
    simulated = runner.invoke(cli, ["simulate", str(source), "--quiet"])
    # Today the command dies with RuntimeError("Failed to get offset for '__y'") (the CLI's `internal
    # error: ... report it`); a usage or protocol error is a SystemExit with its exit code.
    assert simulated.exception is None or isinstance(simulated.exception, SystemExit), simulated.exception
    # Whichever stage refuses the name, validate and simulate agree on it.
    assert (validated.exit_code == 0) == (simulated.exit_code == 0), (validated.output, simulated.output)
