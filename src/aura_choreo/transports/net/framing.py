"""Length-prefixed frames: the byte format every stream carrier (tcp, ws fallbacks) shares. Sans-I/O.

A frame is `length (4 bytes, big-endian) | kind (1 byte) | body (length - 1 bytes)`. `FrameDecoder`
turns arbitrary chunks of bytes into whole frames and refuses, with `FramingError`, anything a
well-behaved peer never sends: a length over `max_frame + 1`, a zero length, an unknown kind. It never
buffers more than one frame's worth of bytes, so an oversized length prefix costs nothing to refuse.
"""

from __future__ import annotations

import enum
import struct

from aura_choreo.transports.base import DEFAULT_MAX_FRAME

_HEADER = struct.Struct(">IB")
HEADER_SIZE = _HEADER.size
pack_header = _HEADER.pack
"""`pack_header(len(body) + 1, kind)`: a frame's header (a C call: a writer that sends a frame per
message puts it before the body itself instead of calling `encode_data`)."""


class FrameKind(enum.IntEnum):
    """What a frame carries."""

    HELLO = 1
    """Device name, protocol version and a fresh nonce (both directions, once per connection)."""
    JOIN = 2
    """A signed request to open a session on this connection (dialer -> listener)."""
    ACCEPT = 3
    """The listener's signed acceptance of a JOIN: only now is the session open."""
    REFUSE = 4
    """A refusal with its reason (of the connection, or of one session)."""
    DATA = 5
    """One session-layer frame (an envelope), opaque here."""
    PING = 6
    PONG = 7


_KINDS = {int(k): k for k in FrameKind}
"""Kind byte -> kind (a dict look-up instead of the enum's constructor, once per frame)."""


class FramingError(Exception):
    """Bytes that are not a valid frame sequence; the connection carrying them is closed."""


def encode_frame(kind: FrameKind, body: bytes) -> bytes:
    """The bytes of one frame."""
    return _HEADER.pack(len(body) + 1, kind) + body


_DATA = int(FrameKind.DATA)


def encode_data(body: bytes) -> bytes:
    """The bytes of one DATA frame (`encode_frame(FrameKind.DATA, body)`, once per message: packing a
    plain int is cheaper than the enum)."""
    return _HEADER.pack(len(body) + 1, _DATA) + body


class FrameDecoder:
    """Feed bytes as they arrive; take whole frames out. Bounded by `max_frame`."""

    __slots__ = ("_buffer", "max_frame")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buffer = bytearray()

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame held (0 between frames: a truncated stream shows here)."""
        return len(self._buffer)

    def one_data(self, data: bytes) -> bytes | None:
        """The body of `data` if it is exactly one whole, valid DATA frame and nothing is buffered
        (the common chunk: one message); None otherwise, and nothing done (then `feed` it)."""
        if self._buffer or len(data) < HEADER_SIZE:
            return None
        length, kind = _HEADER.unpack_from(data)
        if kind == _DATA and len(data) == length + 4 and length <= self.max_frame + 1:
            return data[HEADER_SIZE:]
        return None

    def feed(self, data: bytes) -> list[tuple[FrameKind, bytes]]:
        """Every frame completed by `data`, in order; raises `FramingError` on invalid input."""
        buffer = self._buffer
        if buffer:
            buffer += data
            chunk: bytes | bytearray = buffer
        else:  # the common case, whole frames in one chunk: sliced out of it without a copy more
            chunk = data
            if len(data) >= HEADER_SIZE:  # the most common: exactly one whole, valid frame
                length, kind = _HEADER.unpack_from(data)
                if len(data) == length + 4 and 0 < length <= self.max_frame + 1 and kind in _KINDS:
                    return [(_KINDS[kind], data[HEADER_SIZE:])]
        frames: list[tuple[FrameKind, bytes]] = []
        offset = 0
        size = len(chunk)
        while size - offset >= HEADER_SIZE:
            length, kind = _HEADER.unpack_from(chunk, offset)
            if length == 0 or length - 1 > self.max_frame:
                self._buffer = bytearray()
                raise FramingError(
                    f"frame length {length} is outside 1..{self.max_frame + 1} (max_frame {self.max_frame})"
                )
            known = _KINDS.get(kind)
            if known is None:
                self._buffer = bytearray()
                raise FramingError(f"unknown frame kind {kind}")
            end = offset + 4 + length
            if end > size:
                break
            frames.append((known, bytes(chunk[offset + HEADER_SIZE : end])))
            offset = end
        if chunk is buffer:
            if offset:
                del buffer[:offset]
        elif offset < size:
            buffer += chunk[offset:]
        return frames
