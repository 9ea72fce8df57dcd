"""Stable generated names: decision names (`choose_<name>`) and loop labels, unique per protocol."""

from __future__ import annotations

import re

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(text: str) -> str:
    """`FullSync` -> `full_sync`; anything that is not a letter, digit or `_` becomes `_`."""
    words = _CAMEL.sub("_", text)
    cleaned = re.sub(r"[^0-9a-zA-Z_]+", "_", words).strip("_").lower()
    if not cleaned:
        return "branch"
    return cleaned if not cleaned[0].isdigit() else "_" + cleaned


class NameAllocator:
    """Hands out names unique within one protocol (`accept_or_reject`, `accept_or_reject_2`)."""

    def __init__(self, reserved_labels: set[str] | None = None):
        self._choices: set[str] = set()
        self._labels: set[str] = set(reserved_labels or ())
        self._loops = 0

    def choice(self, base: str) -> str:
        base = snake_case(base)
        name, n = base, 1
        while name in self._choices:
            n += 1
            name = f"{base}_{n}"
        self._choices.add(name)
        return name

    def loop_label(self) -> str:
        while True:
            self._loops += 1
            label = f"Loop{self._loops}"
            if label not in self._labels:
                self._labels.add(label)
                return label
