"""The exception hierarchy: every error aura-choreo raises on purpose is an `AuraChoreoError`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aura_choreo.diagnostics import Diagnostic, render_all


class AuraChoreoError(Exception):
    """Base of every error raised by aura-choreo on purpose."""


class ChoreographyError(AuraChoreoError):
    """A choreography failed to parse or check; carries every diagnostic."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: Mapping[str, str] | None = None):
        self.diagnostics = list(diagnostics)
        self.sources = dict(sources or {})
        super().__init__(self.render())

    def render(self, *, colour: bool = False) -> str:
        """The diagnostics as text, with source lines and carets where the source is known."""
        return render_all(self.diagnostics, self.sources, colour=colour)


def _where(role: str | None, session: str | None, step: str | None) -> str:
    parts = []
    if role:
        parts.append(f"role {role}")
    if session:
        parts.append(f"session {session}")
    if step:
        parts.append(f"at {step}")
    return ", ".join(parts)


class RuntimeProtocolError(AuraChoreoError):
    """An error at run time that belongs to a role in a session."""

    def __init__(
        self,
        message: str,
        *,
        role: str | None = None,
        session: str | None = None,
        step: str | None = None,
    ):
        self.role = role
        self.session = session
        self.step = step
        self.detail = message
        where = _where(role, session, step)
        super().__init__(f"{where}: {message}" if where else message)


class ProtocolViolation(RuntimeProtocolError):
    """A send or receive that the role's local type does not allow."""

    def __init__(
        self,
        role: str,
        expected: str,
        got: str,
        *,
        session: str | None = None,
        step: str | None = None,
    ):
        self.expected = expected
        self.got = got
        super().__init__(f"expected {expected}, got {got}", role=role, session=session, step=step)


class CapabilityDenied(RuntimeProtocolError):
    """The sender's device lacks a capability the message requires."""

    def __init__(
        self,
        role: str,
        capability: str,
        *,
        session: str | None = None,
        step: str | None = None,
        layer: str | None = None,
        layer_index: int | None = None,
    ):
        self.capability = capability
        self.layer = layer
        """The name of the policy layer that denied it (None when no layered policy was involved)."""
        self.layer_index = layer_index
        """Its position among the policy's layers, from 1."""
        by = f" (denied by layer {layer_index} `{layer}`)" if layer is not None else ""
        super().__init__(f"missing capability `{capability}`{by}", role=role, session=session, step=step)


class BudgetExhausted(RuntimeProtocolError):
    """A flow budget cannot pay for a send."""


class LeakageExceeded(RuntimeProtocolError):
    """A leakage budget cannot pay for a send.

    In a layered privacy policy `layer` / `layer_index` (from 1) name the layer that refused, and
    `rolled_back` holds the charges the layers before it had made and gave back.
    """

    layer: str | None = None
    layer_index: int | None = None
    rolled_back: tuple[object, ...] = ()


class BehaviourError(RuntimeProtocolError):
    """User role code (a behaviour method or an imperative role function) raised: the run fails,
    naming the role and step, and the fault is the user's code, not aura-choreo's (SPEC §5.6)."""

    def __init__(
        self,
        code: str,
        error: Exception,
        *,
        role: str | None = None,
        session: str | None = None,
        step: str | None = None,
    ):
        self.code = code
        self.original = error
        message = f"{code} raised {type(error).__name__}: {_error_text(error)}"
        super().__init__(message, role=role, session=session, step=step)


def _error_text(error: BaseException) -> str:
    """`str(error)`, or a stand-in when the user's exception cannot say what it is (`__str__` raises)."""
    try:
        return str(error)
    except Exception:
        return "(its message could not be read)"


def user_code_name(code: object) -> str:
    """How an error names user role code: `behaviour Raiser`, `role function coordinator`.

    Never raises: it runs while reporting the user's error, and user code (a proxy whose
    `__getattr__` raises for any name it does not serve) may raise on any attribute look-up; the
    type's own name is the fallback, read from the type, which user code cannot intercept.
    """
    if isinstance(code, type):
        return f"behaviour {type.__getattribute__(code, '__name__')}"
    try:
        name = getattr(code, "__qualname__", None) or getattr(code, "__name__", None)
        named = isinstance(name, str) and callable(code)
    except Exception:  # the user's look-up failed: name it by its type below
        named = False
    if named:
        return f"role function {name}"
    return f"behaviour {type(code).__name__}"


class PeerTimeout(RuntimeProtocolError):
    """A peer stayed silent past its deadline."""


class TransportError(RuntimeProtocolError):
    """The transport failed to deliver or accept a frame."""


class ReceiptError(RuntimeProtocolError):
    """A receipt is forged, out of order or replayed."""


class ForgedFact(RuntimeProtocolError):
    """A peer's journal delta the receiver must not merge: one holding a fact under the receiving
    device's own id, which only that device writes (a peer cannot add to a device's own history, e.g.
    plant a checkpoint for it to restore), one riding on a message whose step merges no journal, or (in
    a deployed, keyed journal) one holding a fact its claimed author's pinned key did not sign."""


class HandshakeRefused(TransportError):
    """A network peer was refused before any envelope reached the session layer (SPEC §5.6).

    `reason` is a short machine-readable code (`unknown-key`, `no-role`, `protocol-mismatch`,
    `replayed`, `bad-signature`, `unknown-session`, ...); the message says what to fix.
    """

    def __init__(self, reason: str, message: str, *, role: str | None = None, session: str | None = None):
        self.reason = reason
        super().__init__(message, role=role, session=session)


class ProtocolMismatch(HandshakeRefused):
    """The two sides of a connection run different protocols (their protocol hashes differ)."""

    def __init__(self, ours: str, theirs: str, *, role: str | None = None, session: str | None = None):
        self.ours = ours
        self.theirs = theirs
        super().__init__(
            "protocol-mismatch",
            f"protocol hash mismatch: ours is {ours}, the peer's is {theirs} "
            "(both sides must run the same choreography with the same parameters)",
            role=role,
            session=session,
        )


class KeyFileError(AuraChoreoError):
    """A device key file that is missing, malformed or readable by others."""


class JournalError(AuraChoreoError):
    """A journal file that cannot be opened: a directory, not an SQLite database, below a file."""
