"""User role code that raises is a typed run failure (`BehaviourError`) naming role and step, the one
rule `run` (deployment) and `simulate` (testing) both apply: the fault is the user's, not ours.

    handler stack: build_handler(ep, adapter, [user_code_errors(ep.role, behaviour), ...])
"""

from __future__ import annotations

from typing import Any

from aura_choreo.errors import AuraChoreoError, BehaviourError, user_code_name
from aura_choreo.runtime.interpreter import Handler
from aura_choreo.runtime.middleware import describe_effect
from aura_choreo.runtime.program import Effect
from aura_choreo.runtime.runner import MiddlewareFactory


def as_behaviour_error(
    error: Exception, code: object, role: str, *, session: str | None = None, step: str | None = None
) -> Exception:
    """`error` as the run's failure: our own typed errors (and timeouts, which the driver settles)
    pass unchanged; anything else user code raised becomes a `BehaviourError`."""
    if isinstance(error, AuraChoreoError | TimeoutError):
        return error
    return BehaviourError(user_code_name(code), error, role=role, session=session, step=step)


def user_code_errors(role: str, code: object, session: str | None = None) -> MiddlewareFactory:
    """A handler middleware turning an exception of `code`'s methods into a `BehaviourError` at the
    step (effect) that asked them; install it only when there is user code (the default behaviour's
    exceptions are ours)."""

    class UserCodeErrors:
        def __init__(self, inner: Handler) -> None:
            self.inner = inner

        async def handle(self, effect: Effect) -> Any:
            try:
                return await self.inner.handle(effect)
            except Exception as exc:
                wrapped = as_behaviour_error(exc, code, role, session=session, step=describe_effect(effect))
                if wrapped is exc:
                    raise
                raise wrapped from exc

    return UserCodeErrors
