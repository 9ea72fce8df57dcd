"""One guarded send as the chain sees it: what is sent (`OutgoingSend`) and on which receipt channel."""

from __future__ import annotations

from dataclasses import dataclass

from aura_choreo.projection.local_types import AnnotationMap


@dataclass(frozen=True)
class OutgoingSend:
    """One send to guard: who sends what to whom, in which protocol, session and budget context."""

    protocol: str
    session: str
    role: str
    device: str
    peer_role: str
    peer_device: str
    label: str
    annotations: AnnotationMap = ()
    context: str = ""
    """The budget context; empty means the protocol's name."""
    step: str | None = None

    @property
    def budget_context(self) -> str:
        return self.context or self.protocol

    @property
    def channel(self) -> str:
        """The receipt chain this send extends: one per (context, session, sender role, receiver role)."""
        return receipt_channel(self.budget_context, self.session, self.role, self.peer_role)


def receipt_channel(context: str, session: str, sender_role: str, receiver_role: str) -> str:
    """The `context` a receipt names: the channel it was sent on.

    Receipts chain per channel because the runtime delivers each channel in order (FIFO per session and
    pair of roles); a chain spanning channels could see its receipts arrive out of order.
    """
    return f"{context}/{session}/{sender_role}->{receiver_role}"
