"""The guard state one device holds: its flow and leakage budgets, receipt keys and journal."""

from __future__ import annotations

from aura_choreo.guards.flow import FlowLedger
from aura_choreo.guards.leakage import LayeredLeakage, LeakageLayer, LeakageLedger
from aura_choreo.guards.receipts import DeviceKey, ReceiptSigner, ReceiptVerifier
from aura_choreo.journal import Journal, JournalStore
from aura_choreo.journal.store import MEMORY


class DeviceGuards:
    """The guard state one device holds: flow and leakage budgets, receipt keys, its journal."""

    def __init__(
        self,
        device: str,
        *,
        flow: FlowLedger | None = None,
        leakage: LayeredLeakage | None = None,
        journal: Journal | None = None,
        key: DeviceKey | None = None,
    ) -> None:
        self.device = device
        self.flow = FlowLedger() if flow is None else flow
        self.leakage = LayeredLeakage([LeakageLayer(LeakageLedger())]) if leakage is None else leakage
        self.journal = Journal(device, JournalStore(MEMORY)) if journal is None else journal
        self.key = DeviceKey.generate(device) if key is None else key
        self.signer = ReceiptSigner(self.key)
        self.verifier = ReceiptVerifier(device, {})
