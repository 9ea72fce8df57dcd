"""The guard chain (SPEC §5.2-§5.3): capabilities, flow and leakage budgets, journal coupling, receipts."""

from aura_choreo.guards.capabilities import (
    CapabilityLayer,
    CapabilityPolicy,
    CapabilityRequest,
    ContextCapabilities,
    DeviceCapabilities,
    check_manifest,
    local_role_manifest,
    parse_capabilities,
)
from aura_choreo.guards.chain import (
    Attachments,
    DeviceGuards,
    GuardChain,
    OutgoingSend,
    PreparedSend,
    receipt_channel,
)
from aura_choreo.guards.extension import GuardExtension, build_guard_extension, guard_registry, role_manifest
from aura_choreo.guards.flow import DEFAULT_FLOW_LIMIT, FlowBudget, FlowLedger
from aura_choreo.guards.leakage import (
    DEFAULT_LEAKAGE_LIMITS,
    DEFAULT_WINDOW_SECONDS,
    ZERO_LEAKAGE,
    LayeredLeakage,
    LeakageCharge,
    LeakageLayer,
    LeakageLedger,
    LeakageVector,
)
from aura_choreo.guards.metrics import STAGES, GuardMetrics
from aura_choreo.guards.policy import DevicePolicy, Policy, PolicyError, load_policy, parse_policy
from aura_choreo.guards.profile import (
    ANNOTATED_DEFAULT_COST,
    DEFAULT_PROFILE,
    UNANNOTATED_DEFAULT_COST,
    GuardConfigError,
    GuardProfile,
    GuardProfiles,
    profile_from_annotations,
)
from aura_choreo.guards.receipts import DeviceKey, Receipt, ReceiptSigner, ReceiptVerifier

__all__ = [
    "ANNOTATED_DEFAULT_COST",
    "DEFAULT_FLOW_LIMIT",
    "DEFAULT_LEAKAGE_LIMITS",
    "DEFAULT_PROFILE",
    "DEFAULT_WINDOW_SECONDS",
    "STAGES",
    "UNANNOTATED_DEFAULT_COST",
    "ZERO_LEAKAGE",
    "Attachments",
    "CapabilityLayer",
    "CapabilityPolicy",
    "CapabilityRequest",
    "ContextCapabilities",
    "DeviceCapabilities",
    "DeviceGuards",
    "DeviceKey",
    "DevicePolicy",
    "FlowBudget",
    "FlowLedger",
    "GuardChain",
    "GuardConfigError",
    "GuardExtension",
    "GuardMetrics",
    "GuardProfile",
    "GuardProfiles",
    "LayeredLeakage",
    "LeakageCharge",
    "LeakageLayer",
    "LeakageLedger",
    "LeakageVector",
    "OutgoingSend",
    "Policy",
    "PolicyError",
    "PreparedSend",
    "Receipt",
    "ReceiptSigner",
    "ReceiptVerifier",
    "build_guard_extension",
    "check_manifest",
    "guard_registry",
    "load_policy",
    "local_role_manifest",
    "parse_capabilities",
    "parse_policy",
    "profile_from_annotations",
    "receipt_channel",
    "role_manifest",
]
