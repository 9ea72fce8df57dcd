"""RFC 6455 frames after the opening handshake: a sans-I/O reader and writer (no sockets, no asyncio).

Why our own: `websockets`' parser is a chain of generators (a `yield from` per header field and per
read) and its serialiser goes through `io.BytesIO` and a dataclass per frame: ~35 us per message,
most of what ws:// cost over tcp:// (bench/bench_transports.py). ws:// sends one binary message per
write and reads whole frames out of each chunk, so a message is one slice and one header check here.
The opening handshake (HTTP upgrade) stays `websockets`' (`transports.ws`).

What belongs here: the byte format (header, lengths, masking), the rules a frame sequence must follow
(no extension was negotiated, so the reserved bits are 0; client-to-server frames masked,
server-to-client frames not; control frames short and unfragmented; continuation frames only inside a
fragmented message), the size limit, and the close frame's payload. A breach raises `WsError` with the
close code to answer it with (1002 protocol error, 1009 too big, 1007 bad close reason); nothing else
raises. What the events mean for a connection (answer a ping, echo a close, refuse text) is the pipe's.
"""

from __future__ import annotations

import enum
import os
import struct
from collections.abc import Callable

__all__ = [
    "BINARY",
    "CLOSE",
    "CONT",
    "PING",
    "PONG",
    "TEXT",
    "CloseCode",
    "FrameReader",
    "FrameWriter",
    "WsError",
    "apply_mask",
    "close_payload",
    "parse_close",
]

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_DATA_OPCODES = frozenset((CONT, TEXT, BINARY))
_CONTROL_OPCODES = frozenset((CLOSE, PING, PONG))
_FIN = 0x80
_MASKED = 0x80
_SHORT = struct.Struct(">H")
_LONG = struct.Struct(">Q")


class CloseCode(enum.IntEnum):
    """The status codes ws:// sends (RFC 6455 §7.4.1)."""

    NORMAL = 1000
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS = 1005
    """Never sent: what a close frame without a payload means."""
    INVALID_DATA = 1007
    TOO_BIG = 1009


_SENDABLE = frozenset((1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014))
"""Codes a close frame may carry (§7.4.1 plus IANA's registered ones); 3000-4999 too."""


class WsError(ValueError):
    """Input that breaks RFC 6455 (or our limits); `code` is the close code to answer it with."""

    def __init__(self, code: CloseCode, message: str) -> None:
        super().__init__(message)
        self.code = code


def _python_mask(data: bytes, mask: bytes) -> bytes:
    """XOR `data` with the 4-byte `mask` repeated (as one big-integer operation: no loop per byte)."""
    size = len(data)
    if not size:
        return b""
    keys = (mask * ((size + 3) // 4))[:size]
    return (int.from_bytes(data, "little") ^ int.from_bytes(keys, "little")).to_bytes(size, "little")


apply_mask: Callable[[bytes, bytes], bytes]
try:  # websockets' C helper (the same extra that brings ws:// its handshake), else the pure version
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the extension module is built for CPython on every platform
    apply_mask = _python_mask
"""Mask or unmask `data` with the 4-byte key `mask` (§5.3)."""


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a close frame: the code, then the reason cut to fit a control frame's 125 bytes."""
    if code == CloseCode.NO_STATUS:
        return b""
    encoded = reason.encode()[:123].decode(errors="ignore").encode()  # never half a character
    return _SHORT.pack(code) + encoded


def parse_close(payload: bytes) -> tuple[int, str]:
    """(code, reason) of a close frame's payload; an empty one is (1005, "")."""
    if not payload:
        return CloseCode.NO_STATUS, ""
    if len(payload) == 1:
        raise WsError(CloseCode.PROTOCOL_ERROR, "close frame of 1 byte (a code takes 2)")
    (code,) = _SHORT.unpack_from(payload)
    if code not in _SENDABLE and not 3000 <= code < 5000:
        raise WsError(CloseCode.PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode()
    except UnicodeDecodeError:
        raise WsError(CloseCode.INVALID_DATA, "close reason is not UTF-8") from None
    return code, reason


class FrameReader:
    """Feed bytes as they arrive; take out whole messages and control frames. Bounded by `max_size`.

    `masked`: the frames must be masked (we are the server) or must not be (we are the client).
    """

    __slots__ = ("_buffer", "_fragment_opcode", "_fragment_size", "_fragments", "_mask_bit", "max_size")

    def __init__(self, *, masked: bool, max_size: int) -> None:
        self.max_size = max_size
        self._mask_bit = _MASKED if masked else 0
        self._buffer = bytearray()
        self._fragments: list[bytes] | None = None
        self._fragment_opcode = BINARY
        self._fragment_size = 0

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete frame or message held (0 between messages)."""
        return len(self._buffer) + self._fragment_size

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """Every event `data` completes, in order: (BINARY or TEXT, a whole message) or (CLOSE, PING or
        PONG, the control frame's payload; a CLOSE payload has been checked). Raises `WsError`."""
        buffer = self._buffer
        if buffer:
            buffer += data
            chunk: bytes | bytearray = buffer
        else:
            chunk = data
            # The common case, one whole unfragmented binary message of under 126 bytes: one check.
            size = len(data)
            if size > 2 and data[0] == _FIN | BINARY and self._fragments is None:
                second = data[1]
                length = second & 0x7F
                if length < 126 and second & _MASKED == self._mask_bit:
                    if not self._mask_bit and size == 2 + length:
                        return [(BINARY, data[2:])]
                    if self._mask_bit and size == 6 + length:
                        return [(BINARY, apply_mask(data[6:], data[2:6]))]
        try:
            events, offset = self._frames(chunk)
        except WsError:
            self._buffer = bytearray()
            self._fragments = None
            raise
        if chunk is buffer:
            if offset:
                del buffer[:offset]
        elif offset < len(chunk):
            buffer += chunk[offset:]
        return events

    def _frames(self, chunk: bytes | bytearray) -> tuple[list[tuple[int, bytes]], int]:
        events: list[tuple[int, bytes]] = []
        offset = 0
        size = len(chunk)
        mask_bit = self._mask_bit
        while size - offset >= 2:
            first, second = chunk[offset], chunk[offset + 1]
            if first & 0x70:
                raise WsError(CloseCode.PROTOCOL_ERROR, "reserved bits set (no extension was negotiated)")
            opcode = first & 0x0F
            if second & _MASKED != mask_bit:
                side = "an unmasked frame from the client" if mask_bit else "a masked frame from the server"
                raise WsError(CloseCode.PROTOCOL_ERROR, f"incorrect masking: {side}")
            length = second & 0x7F
            head = offset + 2
            if length == 126:
                if size - offset < 4:
                    break
                (length,) = _SHORT.unpack_from(chunk, head)
                head += 2
            elif length == 127:
                if size - offset < 10:
                    break
                (length,) = _LONG.unpack_from(chunk, head)
                head += 8
            self._check(opcode, bool(first & _FIN), length)
            if mask_bit:
                head += 4
            end = head + length
            if end > size:
                break
            payload = bytes(chunk[head:end])
            if mask_bit:
                payload = apply_mask(payload, bytes(chunk[head - 4 : head]))
            offset = end
            self._take(events, opcode, bool(first & _FIN), payload)
        return events, offset

    def _check(self, opcode: int, fin: bool, length: int) -> None:
        """Refuse a frame by its header, before any of its payload is buffered."""
        if opcode in _CONTROL_OPCODES:
            if length > 125:
                raise WsError(CloseCode.PROTOCOL_ERROR, f"control frame of {length} bytes (at most 125)")
            if not fin:
                raise WsError(CloseCode.PROTOCOL_ERROR, "fragmented control frame")
        elif opcode not in _DATA_OPCODES:
            raise WsError(CloseCode.PROTOCOL_ERROR, f"invalid opcode {opcode:#x}")
        elif self._fragment_size + length > self.max_size:
            raise WsError(
                CloseCode.TOO_BIG,
                f"message of {self._fragment_size + length} bytes or more exceeds the limit of"
                f" {self.max_size} bytes",
            )

    def _take(self, events: list[tuple[int, bytes]], opcode: int, fin: bool, payload: bytes) -> None:
        if opcode >= CLOSE:
            if opcode == CLOSE:
                parse_close(payload)
            events.append((opcode, payload))
            return
        fragments = self._fragments
        if opcode == CONT:
            if fragments is None:
                raise WsError(CloseCode.PROTOCOL_ERROR, "continuation frame outside a fragmented message")
            fragments.append(payload)
            self._fragment_size += len(payload)
            if fin:
                events.append((self._fragment_opcode, b"".join(fragments)))
                self._fragments = None
                self._fragment_size = 0
        elif fragments is not None:
            raise WsError(CloseCode.PROTOCOL_ERROR, "new message inside a fragmented message")
        elif fin:
            events.append((opcode, payload))
        else:
            self._fragments = [payload]
            self._fragment_opcode = opcode
            self._fragment_size = len(payload)


class FrameWriter:
    """The bytes of frames to send; `masked` (we are the client): each with a fresh random mask key.

    Mask keys are taken 4 bytes at a time from `random_bytes` (default `os.urandom`) in blocks, one
    call per 256 frames instead of one per frame; they stay unpredictable, which is all §5.3 asks."""

    __slots__ = ("_keys", "_mask_bit", "_next", "_random_bytes")

    def __init__(self, *, masked: bool, random_bytes: Callable[[int], bytes] = os.urandom) -> None:
        self._mask_bit = _MASKED if masked else 0
        self._random_bytes = random_bytes
        self._keys = b""
        self._next = 0

    def frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
        """One frame of `opcode` carrying `payload`."""
        length = len(payload)
        first = (_FIN if fin else 0) | opcode
        if length < 126:
            header = bytes((first, self._mask_bit | length))
        elif length < 65536:
            header = bytes((first, self._mask_bit | 126)) + _SHORT.pack(length)
        else:
            header = bytes((first, self._mask_bit | 127)) + _LONG.pack(length)
        if not self._mask_bit:
            return header + payload
        key = self._key()
        return header + key + apply_mask(payload, key)

    def binary(self, payload: bytes) -> bytes:
        """One whole binary message in one frame."""
        return self.frame(BINARY, payload)

    def close(self, code: int, reason: str = "") -> bytes:
        """A close frame with `code` and `reason` (1005: one without a payload)."""
        return self.frame(CLOSE, close_payload(code, reason))

    def _key(self) -> bytes:
        at = self._next
        if at + 4 > len(self._keys):
            self._keys = self._random_bytes(1024)
            at = 0
        self._next = at + 4
        return self._keys[at : at + 4]
