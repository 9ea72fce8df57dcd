"""Naming user code for a `BehaviourError` never raises, whatever the user's objects do on look-up or
`str` (it runs while reporting the user's error; a raise there lost the role and step)."""

from __future__ import annotations

from typing import NoReturn

from aura_choreo.errors import BehaviourError, user_code_name
from aura_choreo.runtime.user_code import as_behaviour_error


class Proxy:
    def __getattr__(self, name: str) -> NoReturn:
        raise RuntimeError(f"no such operation: {name}")


class Mute(Exception):
    def __str__(self) -> str:
        raise RuntimeError("cannot say")


def coordinator() -> None: ...


def test_a_proxy_is_named_by_its_type() -> None:
    assert user_code_name(Proxy()) == "behaviour Proxy"
    assert user_code_name(Proxy) == "behaviour Proxy"
    assert user_code_name(coordinator) == "role function coordinator"


def test_an_exception_whose_str_raises_still_becomes_a_behaviour_error() -> None:
    wrapped = as_behaviour_error(Mute(), Proxy(), "Coordinator", step="send Prepare to Participant")
    assert isinstance(wrapped, BehaviourError)
    assert wrapped.role == "Coordinator"
    assert "behaviour Proxy raised Mute: (its message could not be read)" in str(wrapped)
