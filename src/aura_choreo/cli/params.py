"""`--param K=V`: the bindings of family sizes and integer parameters, shared by every command."""

from __future__ import annotations

from aura_choreo.cli.output import fail


def parse_params(values: tuple[str, ...]) -> dict[str, int]:
    """`("N=5", "threshold=2")` -> `{"N": 5, "threshold": 2}`; a malformed one is a usage error (exit 2)."""
    params: dict[str, int] = {}
    for item in values:
        key, sep, value = item.partition("=")
        key = key.strip()
        try:
            number = int(value.strip().replace("_", ""))
        except ValueError:
            number = -1
        if not sep or not key.isidentifier() or number < 0:
            fail(f"bad --param `{item}`", code=2, hint="write --param NAME=INTEGER, e.g. --param N=5")
        if params.get(key, number) != number:
            fail(
                f"--param {key} is given twice, as {params[key]} and {number}",
                code=2,
                hint=f"keep one --param {key}=...",
            )
        params[key] = number
    return params
