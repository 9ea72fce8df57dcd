"""A behaviour whose attribute look-up raises, found by hunt5 (xfail until fixed)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from aura_choreo.cli.main import cli

TPC = Path(__file__).resolve().parents[2] / "examples" / "two_phase_commit.choreo"

# A proxy-like behaviour (say, one forwarding to a remote service) whose `__getattr__` raises
# something other than AttributeError for names it does not serve.
PROXY = """class Proxy:
    def __getattr__(self, name):
        raise RuntimeError("no such operation: " + name)


BEHAVIOURS = Proxy()
"""


# `simulate tpc.choreo --behaviours proxy.py:BEHAVIOURS --json` reports `{"error": "RuntimeError",
# "role": null, "step": null, "message": "the role's code raised: no such operation: __qualname__"}`:
# building the BehaviourError itself raises: `errors.user_code_name` names the code with
# `getattr(code, "__qualname__", None)`, which only a missing attribute's AttributeError gets past,
# so the proxy's RuntimeError escapes the rule of `runtime/user_code.py` (c2d09cf) and
# `testing/results.py` reports it raw, blaming no role.
def test_a_behaviour_whose_lookup_raises_is_a_behaviour_error_naming_the_role(tmp_path: Path) -> None:
    module = tmp_path / "proxy.py"
    module.write_text(PROXY, encoding="utf-8")
    args = ["simulate", str(TPC), "--behaviours", f"{module}:BEHAVIOURS", "--json"]
    outcome = CliRunner().invoke(cli, args)
    (failure,) = json.loads(outcome.stdout)["failures"]
    assert failure["error"] == "BehaviourError"
    assert failure["role"] in ("Coordinator", "Participant")
