"""Protocol parameters: family sizes (`Followers[N]`, `Signers[*]`) and integers (`threshold`)."""

from __future__ import annotations

from collections.abc import Mapping

from aura_choreo.diagnostics import Diagnostic, Span, error, info

MAX_FAMILY_SIZE = 10_000
DEFAULT_PARAMETER = 3


class ParamEnv:
    """Resolves parameter names to integers during one check.

    Names given by the user win; an unbound name gets `default` (with an info diagnostic, once) or,
    when `default` is None, error E014.
    """

    def __init__(self, given: Mapping[str, int], default: int | None, diagnostics: list[Diagnostic]):
        self._given = dict(given)
        self._default = default
        self._diagnostics = diagnostics
        self._resolved: dict[str, int] = {}
        self._unbound_reported: set[str] = set()

    def value(self, name: str, span: Span, *, what: str = "") -> int | None:
        """The value of parameter `name`, binding it to the default on first use if needed."""
        if name in self._resolved:
            return self._resolved[name]
        what = what or f"parameter `{name}`"
        if name in self._given:
            value = self._given[name]
        elif self._default is not None:
            value = self._default
            self._diagnostics.append(
                info(
                    "I001",
                    span,
                    f"{what} is unbound; using {value} for analysis",
                    f"bind it with `--param {name}=K` or `Protocol.bind({name}=K)`",
                )
            )
        else:
            if name not in self._unbound_reported:
                self._unbound_reported.add(name)
                self._diagnostics.append(
                    error(
                        "E014",
                        span,
                        f"{what} is unbound",
                        f"bind it with `Protocol.bind({name}=K)` or `--param {name}=K`",
                    )
                )
            return None
        if value < 0 or value > MAX_FAMILY_SIZE:
            self._diagnostics.append(error("E014", span, f"{what} = {value} is outside 0..{MAX_FAMILY_SIZE}"))
            value = max(0, min(value, MAX_FAMILY_SIZE))
        self._resolved[name] = value
        return value

    def is_given(self, name: str) -> bool:
        return name in self._given or name in self._resolved

    def bound(self) -> dict[str, int]:
        """Every parameter resolved so far (given or defaulted), in first-use order."""
        return dict(self._resolved)

    def unused_given(self) -> list[str]:
        """Names the user bound that the protocol never used."""
        return [name for name in self._given if name not in self._resolved]
