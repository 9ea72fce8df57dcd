"""The sans-I/O layer shared by the network carriers: framing, handshake, keep-alive, backoff, identity.

Nothing here touches a socket or a clock of its own; `transports.tcp` (and later ws/quic) are thin
shells that move bytes between these state machines and their carrier.
"""

from aura_choreo.transports.net.framing import FrameDecoder, FrameKind, FramingError, encode_frame
from aura_choreo.transports.net.handshake import Connection, SessionBinding
from aura_choreo.transports.net.identity import Identity, format_public_key, load_identity, parse_public_key
from aura_choreo.transports.net.timing import Backoff, KeepAlive, Liveness

__all__ = [
    "Backoff",
    "Connection",
    "FrameDecoder",
    "FrameKind",
    "FramingError",
    "Identity",
    "KeepAlive",
    "Liveness",
    "SessionBinding",
    "encode_frame",
    "format_public_key",
    "load_identity",
    "parse_public_key",
]
