"""The README's runtime snippet (section 5) runs as printed (issue #11 item 20)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def runtime_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### 5. Run the roles in Python") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "section 5 of the README has no Python block"
    return match.group(1)


def test_the_readme_runtime_snippet_registers_the_user_type_and_runs() -> None:
    snippet = runtime_snippet()
    assert "register(Vote)" in snippet
    done = subprocess.run(
        [sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "CommitRequest"
