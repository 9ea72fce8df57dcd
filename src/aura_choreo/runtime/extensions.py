"""Extensions: code that runs at each send/receive of a step carrying given annotations.

The guard chain (capabilities, flow and leakage budgets, journal coupling, receipts) plugs in here, as
do user extensions. A registry is an ordinary object handed to the session: there is no global
registry. Extensions are registered for annotation keys (`guard_capability`, `flow_cost`, ...) or for
every step (`register_all`); the keys a registry knows are what the parser accepts without W101.

Hooks, in the order the session layer calls them:
- `on_session_start(ctx)` once per endpoint before any message (pre-flight, e.g. the capability
  manifest check); raising refuses the session. `run_session` (and the simulator) run this check for
  every endpoint before any role's code runs, so a refused session sends nothing.
- `before_send(ctx)` before the envelope is built; may raise a typed denial (`CapabilityDenied`,
  `BudgetExhausted`, ...) so nothing is sent; may return attachments for the envelope
  (`{"receipt": ..., "journal": ...}`; other keys travel in the envelope's `ext` map).
- `after_send(ctx, accepted)` once the transport accepted (True) or refused (False) the frame; for an
  accepted one it may return an awaitable, which the endpoint awaits before the send completes.
  If an extension's `before_send` raises, the extensions before it (which already ran theirs) see
  `after_send(ctx, False)`, so they can release what they reserved.
- `on_receive(ctx, attachments)` when a message for this step arrives, before the role sees it; may
  raise (`ReceiptError`) to reject it.
- `on_session_end(ctx, trace, ok)` once per endpoint when it leaves the session, normally (`ok`) or by
  an error or cancellation (not `ok`); called on every extension whose `on_session_start` was called
  (also when that start raised). `trace` is the session's trace, which may also hold the events of
  other sessions sharing it: filter by `ctx.session`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from aura_choreo.projection.local_types import AnnotationMap, LocalType, annotation_value
from aura_choreo.runtime.trace import Trace
from aura_choreo.syntax.ast import AnnotationValue

Attachments = Mapping[str, bytes]
"""Extra data riding on an envelope: `receipt`, `journal` and extension-specific keys."""


@dataclass(frozen=True)
class SessionContext:
    """What an extension sees when an endpoint joins a session."""

    protocol: str
    session: str
    role: str
    device: str
    local_type: LocalType
    trace: Trace | None = None
    """The trace the endpoint records its events in (shared with the session's other endpoints in
    this process; it may hold other sessions' events too): an extension may read it while the session
    runs, e.g. to store it as it grows."""


class StepContext(NamedTuple):
    """What an extension sees at one send or receive (immutable).

    A named tuple rather than a frozen dataclass: one is built for every hooked send and receive,
    and a tuple is built in C (about a fifth of the frozen dataclass's per-field set-up).
    """

    protocol: str
    session: str
    role: str
    device: str
    peer: str
    """The receiver of a send, the sender of a receive."""
    label: str
    annotations: AnnotationMap
    payload: object = None
    direction: str = "send"
    """`send` or `recv`."""
    step: int = 0
    """The endpoint's step counter (1-based count of its sends and receives)."""
    peer_device: str = ""

    def annotation(self, key: str) -> AnnotationValue | None:
        """The value of annotation `key` on this step, or None."""
        return annotation_value(self.annotations, key)


class Extension:
    """Base class of extensions: override the hooks you need (the defaults do nothing)."""

    attachments_only: bool = False
    """True: `on_receive` only sees messages carrying attachments (a receipt, a journal delta or other
    `ext` entries); a message without any costs such an extension nothing. Read when an endpoint is
    made (like which hooks an extension has)."""

    def on_session_start(self, ctx: SessionContext) -> None:
        """Pre-flight check when an endpoint joins; raise to refuse the session."""

    def before_send(self, ctx: StepContext) -> Attachments | None:
        """Check (and charge) a send; raise a typed denial to stop it; return envelope attachments."""
        return None

    def after_send(self, ctx: StepContext, accepted: bool) -> Awaitable[None] | None:
        """The transport accepted (True) or refused (False) the send. For an accepted send it may return
        an awaitable: the send completes once it has (the guard chain's durable journal returns its
        group commit, so a send returns when its facts are on disk)."""
        return None

    def on_receive(self, ctx: StepContext, attachments: Attachments) -> None:
        """Check a received message (e.g. verify its receipt); raise to reject it."""

    def on_session_end(self, ctx: SessionContext, trace: Trace, ok: bool) -> None:
        """The endpoint left the session: normally (`ok`) or by an error (e.g. store its trace)."""


@dataclass
class ExtensionRegistry:
    """Extensions keyed by annotation name, plus extensions that see every step.

    Lookups are cached per annotation map (the hot path asks once per distinct step, not per message).
    """

    _by_key: dict[str, list[Extension]] = field(default_factory=dict)
    _every_step: list[Extension] = field(default_factory=list)
    _cache: dict[AnnotationMap, tuple[Extension, ...]] = field(default_factory=dict)
    _hooked: dict[tuple[str, AnnotationMap], tuple[Extension, ...]] = field(default_factory=dict)

    def register(self, keys: Iterable[str], extension: Extension) -> None:
        """Run `extension` on every step carrying at least one of `keys`."""
        for key in keys:
            self._by_key.setdefault(key, []).append(extension)
        self._cache.clear()
        self._hooked.clear()

    def register_all(self, extension: Extension) -> None:
        """Run `extension` on every step, annotated or not (e.g. the flow guard: unannotated sends cost 1)."""
        self._every_step.append(extension)
        self._cache.clear()
        self._hooked.clear()

    def known_keys(self) -> frozenset[str]:
        """The annotation keys some extension registered (the parser's `extra_annotation_keys`)."""
        return frozenset(self._by_key)

    def extensions(self) -> tuple[Extension, ...]:
        """Every registered extension once, in registration order (every-step ones first)."""
        seen: dict[int, Extension] = {}
        for ext in self._every_step:
            seen.setdefault(id(ext), ext)
        for exts in self._by_key.values():
            for ext in exts:
                seen.setdefault(id(ext), ext)
        return tuple(seen.values())

    def for_step(self, annotations: AnnotationMap) -> tuple[Extension, ...]:
        """The extensions that run on a step with these annotations, each once, in registration order."""
        cached = self._cache.get(annotations)
        if cached is not None:
            return cached
        chosen: dict[int, Extension] = {id(ext): ext for ext in self._every_step}
        for key, _ in annotations:
            for ext in self._by_key.get(key, ()):
                chosen.setdefault(id(ext), ext)
        result = tuple(chosen.values())
        self._cache[annotations] = result
        return result

    def senders(self, annotations: AnnotationMap) -> tuple[Extension, ...]:
        """Of `for_step(annotations)`, the extensions with a `before_send` or `after_send` of their own
        (the others' hooks do nothing: the send then builds no step context for them)."""
        return self._with_hooks("send", annotations, _SEND_HOOKS)

    def receivers(self, annotations: AnnotationMap) -> tuple[Extension, ...]:
        """Of `for_step(annotations)`, the extensions with an `on_receive` of their own."""
        return self._with_hooks("recv", annotations, _RECEIVE_HOOKS)

    def has_receive_hooks(self) -> bool:
        """Whether some registered extension has an `on_receive` of its own (if not, an endpoint
        decides once that a receive builds no step context and no attachments)."""
        return any(_overrides(extension, _RECEIVE_HOOKS) for extension in self.extensions())

    def receives_plain_messages(self) -> bool:
        """Whether some extension with an `on_receive` of its own wants messages without attachments."""
        return any(
            _overrides(extension, _RECEIVE_HOOKS) and not extension.attachments_only
            for extension in self.extensions()
        )

    def has_send_hooks(self) -> bool:
        """Whether some registered extension has a `before_send` or `after_send` of its own."""
        return any(_overrides(extension, _SEND_HOOKS) for extension in self.extensions())

    def _with_hooks(
        self, side: str, annotations: AnnotationMap, hooks: tuple[str, ...]
    ) -> tuple[Extension, ...]:
        key = (side, annotations)
        cached = self._hooked.get(key)
        if cached is None:
            cached = self._hooked[key] = tuple(e for e in self.for_step(annotations) if _overrides(e, hooks))
        return cached

    def is_empty(self) -> bool:
        """Whether no extension is registered (the session layer then skips every hook)."""
        return not self._by_key and not self._every_step


_SEND_HOOKS = ("before_send", "after_send")
_RECEIVE_HOOKS = ("on_receive",)


def _overrides(extension: Extension, hooks: tuple[str, ...]) -> bool:
    """Whether `extension` has one of `hooks` other than `Extension`'s, which does nothing (set on the
    instance, or by a class that does not derive from `Extension`, counts as its own)."""
    own = getattr(extension, "__dict__", {})
    return any(
        name in own or getattr(type(extension), name, None) is not getattr(Extension, name) for name in hooks
    )
