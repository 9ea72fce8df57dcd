"""The session lifecycle (SPEC §8.5): states, the transitions allowed between them, typed errors.

    created -> active -> completed | failed | timed_out | cancelled

The arrow is the success path. A session that never became active may still end as `failed` (a
pre-flight refusal: a missing capability refuses the session before any message, SPEC §5.2),
`timed_out` (its participants never all joined) or `cancelled`; only `completed` needs the session to
have run. The four outcomes are final, and no state moves to itself: every other pair is refused with
`InvalidTransition`, so a late or duplicated `end` cannot rewrite how a session ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from aura_choreo.errors import AuraChoreoError


class SessionState(StrEnum):
    CREATED = "created"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        """Whether the session has ended (no transition leaves this state)."""
        return not TRANSITIONS[self]


_OUTCOMES = frozenset(
    {SessionState.COMPLETED, SessionState.FAILED, SessionState.TIMED_OUT, SessionState.CANCELLED}
)
TRANSITIONS: Mapping[SessionState, frozenset[SessionState]] = {
    SessionState.CREATED: frozenset(_OUTCOMES - {SessionState.COMPLETED} | {SessionState.ACTIVE}),
    SessionState.ACTIVE: _OUTCOMES,
    **{outcome: frozenset() for outcome in _OUTCOMES},
}
"""The allowed moves: from each state, the states it may move to (see the module docstring)."""


class SessionError(AuraChoreoError):
    """A session manager refused an operation; `session` names the session (if there is one)."""

    def __init__(self, message: str, *, session: str | None = None) -> None:
        self.session = session
        super().__init__(f"session {session}: {message}" if session else message)


class InvalidTransition(SessionError):
    """A lifecycle move the state machine does not allow (e.g. `completed -> active`)."""

    def __init__(self, session: str, current: SessionState, wanted: SessionState) -> None:
        self.current = current
        self.wanted = wanted
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none, it has ended"
        super().__init__(f"cannot move from {current} to {wanted} (allowed: {allowed})", session=session)


class UnknownSession(SessionError):
    """No session with this id is known to the manager."""


class UnknownParticipant(SessionError):
    """A role that is not a participant of the session tried to join or leave."""


class SessionLimitExceeded(SessionError):
    """Creating the session would exceed the limit on concurrent (created or active) sessions."""


@dataclass(frozen=True)
class SessionConfig:
    """Per-session settings: an id (default: a fresh random one), the longest the session may take
    from its creation (`timeout`), and how long it may go without any lifecycle activity
    (`stale_after`) before `cleanup_stale` times it out (None: the manager's default)."""

    session_id: str | None = None
    timeout: float | None = None
    stale_after: float | None = None


@dataclass(frozen=True)
class SessionRecord:
    """What the manager knows of one session; every change makes a new record."""

    id: str
    protocol: str
    participants: tuple[str, ...]
    state: SessionState
    created_at: float
    updated_at: float
    joined: Mapping[str, str] = field(default_factory=dict)
    """Roles that joined and have not left, with the device each joined from."""
    left: frozenset[str] = frozenset()
    reason: str = ""
    """Why the session ended (empty while it runs, or when none was given)."""
    timeout: float | None = None
    stale_after: float | None = None

    def moved(self, state: SessionState, at: float, reason: str = "") -> SessionRecord:
        """This record moved to `state` (the caller has checked the move is allowed)."""
        return replace(self, state=state, updated_at=at, reason=reason)

    @property
    def all_joined(self) -> bool:
        return set(self.joined) | self.left >= set(self.participants)
