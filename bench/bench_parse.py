"""Parser throughput: generated choreographies of 1,000 and 10,000 statements over 10 roles.

Prints statements per second (target >= 30,000, issue 19), the 10k/1k time ratio (target <= 12: linear), and
a baseline measured in the same run: the stdlib `tokenize` of Python source of the same size.
Times are the best of several runs, in CPU time of this process (`time.process_time`), so that
other work on a shared machine distorts them less than wall-clock time would.
"""

from __future__ import annotations

import io
import random
import time
import tokenize
from collections.abc import Callable

from aura_choreo.syntax import parse_source

ROLES = [f"R{i}" for i in range(10)]


def generate(statements: int, seed: int = 7) -> tuple[str, int]:
    """A choreography with about `statements` statements (nested ones counted) and the exact count."""
    rng = random.Random(seed)
    lines = ["choreography Bench {", f"    roles: {', '.join(ROLES)};"]
    count = 0
    while count < statements:
        kind = rng.random()
        a, b = rng.sample(ROLES, 2)
        if kind < 0.6:
            lines.append(_send(rng, a, b, "    "))
            count += 1
        elif kind < 0.8:
            lines.append(f"    choice {a} {{")
            for label in ("accept", "reject"):
                lines.append(f"        {label} when (amount > {rng.randint(1, 99)}): {{")
                lines.append(_send(rng, a, b, "            "))
                lines.append("        }")
            lines.append("    }")
            count += 3
        else:
            lines.append(f"    loop (count: {rng.randint(2, 9)}) {{")
            lines.append(_send(rng, a, b, "        "))
            lines.append(_send(rng, b, a, "        "))
            lines.append("    }")
            count += 3
    lines.append("}")
    return "\n".join(lines) + "\n", count


def _send(rng: random.Random, a: str, b: str, pad: str) -> str:
    label = f"Msg{rng.randint(0, 999)}"
    if rng.random() < 0.3:
        return (
            f'{pad}{a}[guard_capability = "cap_{rng.randint(0, 9)}", flow_cost = {rng.randint(1, 500)}]'
            f" -> {b}: {label}(id: u64, data: Vec<String>);"
        )
    return f"{pad}{a} -> {b}: {label}(amount: u64);"


def python_of_size(size: int) -> str:
    """Python source of about `size` characters (the baseline's input)."""
    line = 'result = compute(alpha, beta[3], gamma="text") + 42  # comment\n'
    return line * (size // len(line) + 1)


def best_time(action: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best


def main() -> None:
    results: dict[int, float] = {}
    for size, repeats in ((1_000, 7), (10_000, 3)):
        text, count = generate(size)
        outcome = parse_source(text, "bench.choreo")
        assert outcome.ok, outcome.diagnostics[:3]
        seconds = best_time(lambda text=text: parse_source(text, "bench.choreo"), repeats)
        python = python_of_size(len(text))
        baseline = best_time(
            lambda python=python: list(tokenize.generate_tokens(io.StringIO(python).readline)), repeats
        )
        results[size] = seconds
        print(
            f"{count:>6} statements ({len(text) / 1e6:.2f} MB): {seconds * 1e3:8.1f} ms, "
            f"{count / seconds:>9,.0f} statements/s | stdlib tokenize of the same size: "
            f"{baseline * 1e3:7.1f} ms, parse/tokenize ratio {seconds / baseline:.2f}"
        )
    ratio = results[10_000] / results[1_000]
    print(f"10k/1k time ratio: {ratio:.2f} (target <= 12)")


if __name__ == "__main__":
    main()
