"""What rides on a guarded message (SPEC §5.1 envelope): the receipt and the journal delta.

Each is carried as JSON bytes in the envelope's attachments; network input, so decoded within bounds
(`journal.bounded`) and checked field by field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from aura_choreo.errors import ReceiptError
from aura_choreo.guards.receipts import Receipt
from aura_choreo.journal import FactLog
from aura_choreo.journal.bounded import loads_bounded
from aura_choreo.journal.facts import VersionVector


@dataclass(frozen=True)
class Attachments:
    """What rides on the message: the receipt and the journal delta (SPEC §5.1 envelope).

    The journal delta goes with the sender's version vector (`journal_known`): the receiver learns what
    the sender holds, which acknowledges the deltas it sent there before (they are resent until then).
    Each fact of a keyed journal's delta carries its author's signature (`journal.signing`).
    """

    receipt: Receipt | None = None
    journal_delta: FactLog | None = None
    journal_known: VersionVector | None = None

    def to_wire(self) -> dict[str, bytes]:
        """Envelope attachments: `receipt` and `journal`, each JSON bytes, present only when set."""
        wire: dict[str, bytes] = {}
        if self.receipt is not None:
            wire["receipt"] = json.dumps(self.receipt.to_wire(), separators=(",", ":")).encode()
        if self.journal_delta is not None:
            journal: dict[str, object] = {"facts": self.journal_delta.to_wire()}
            if self.journal_known is not None:
                journal["known"] = self.journal_known.to_wire()
            wire["journal"] = json.dumps(journal, separators=(",", ":")).encode()
        return wire

    @classmethod
    def from_wire(cls, wire: Mapping[str, bytes]) -> Attachments:
        """Decode `to_wire`; malformed attachments raise `ReceiptError`."""
        try:
            receipt = (
                Receipt.from_wire(_mapping(loads_bounded(wire["receipt"]))) if "receipt" in wire else None
            )
            delta, known = _journal(loads_bounded(wire["journal"])) if "journal" in wire else (None, None)
        except ReceiptError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ReceiptError(f"malformed message attachments: {exc}") from exc
        return cls(receipt, delta, known)


def _mapping(value: object) -> Mapping[str, object]:
    if not isinstance(value, dict):
        raise TypeError("a receipt must be a JSON object")
    return value


def _journal(value: object) -> tuple[FactLog, VersionVector | None]:
    journal = _mapping(value)
    facts, known = journal["facts"], journal.get("known")
    if not isinstance(facts, list) or not all(isinstance(item, dict) for item in facts):
        raise TypeError("a journal delta's facts must be a JSON array of objects")
    if known is None:
        return FactLog.from_wire(facts), None
    counters = _mapping(known)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counters.values()):
        raise TypeError("a version vector maps devices to counters")
    return FactLog.from_wire(facts), VersionVector({str(d): int(str(n)) for d, n in counters.items()})


NO_ATTACHMENTS = Attachments()
"""What a send carries when it is neither signed nor merges its journal."""
