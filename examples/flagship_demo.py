"""The flagship demo: a two-phase commit, checked, projected and simulated.

Each stage of the pipeline is shown as soon as it has landed; until then the demo says what is next.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "two_phase_commit.choreo"


def main() -> None:
    print(f"aura-choreo flagship demo: {SOURCE.name}\n")
    print(SOURCE.read_text(encoding="utf-8"))
    if importlib.util.find_spec("aura_choreo.syntax.parser") is None:
        print("The DSL front end has not landed yet: parsing, projection and simulation come next.")
        return


if __name__ == "__main__":
    main()
