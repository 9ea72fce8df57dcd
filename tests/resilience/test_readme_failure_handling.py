"""The README's failure-handling snippet runs as printed and prints what its comments say."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("Failure handling: timeout, saga") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "the failure-handling section of the README has no Python block"
    return match.group(1)


def test_the_failure_handling_snippet_prints_what_its_comments_say() -> None:
    code = snippet()
    promised = [
        line.split("# ", 1)[1].strip()
        for line in code.splitlines()
        if "print(" in line or "print(sent)" in line
    ]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == promised
