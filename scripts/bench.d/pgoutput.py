# Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.
"""Just enough pgoutput (protocol version 1) to find changes and commit times in a raw stream.

pg_recvlogical, and psycopg2_consumer.py in its streaming mode, write each pgoutput message followed by a newline.
The messages are binary, so the newline cannot be searched for; each message is walked to its end instead.
"""

import struct

# Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC).
POSTGRES_EPOCH_OFFSET_US = 946_684_800_000_000

_CHANGE_TYPES = frozenset(b"IUD")


class Incomplete(Exception):
    """The buffer ends inside a message; read more and try again."""


def _cstring_end(buffer, position):
    end = buffer.find(b"\0", position)
    if end < 0:
        raise Incomplete
    return end + 1


def _tuple_end(buffer, position):
    if position + 2 > len(buffer):
        raise Incomplete
    (columns,) = struct.unpack_from(">H", buffer, position)
    position += 2
    for _ in range(columns):
        if position >= len(buffer):
            raise Incomplete
        kind = buffer[position]
        position += 1
        if kind in (0x74, 0x62):  # 't' text, 'b' binary: Int32 length, then the bytes
            if position + 4 > len(buffer):
                raise Incomplete
            (length,) = struct.unpack_from(">i", buffer, position)
            position += 4 + length
        elif kind not in (0x6E, 0x75):  # 'n' null, 'u' unchanged TOAST value
            raise ValueError(f"unknown tuple column kind {kind:#x}")
    if position > len(buffer):
        raise Incomplete
    return position


def message_end(buffer, position):
    """Returns the end of the pgoutput message starting at `position`: (end, kind, commit time in Unix µs or None)."""
    if position >= len(buffer):
        raise Incomplete
    kind = buffer[position]
    body = position + 1
    commit_time = None
    if kind == 0x42:  # Begin: final LSN, commit time, xid
        end = body + 20
    elif kind == 0x43:  # Commit: flags, commit LSN, end LSN, commit time
        end = body + 25
        if end <= len(buffer):
            (timestamp,) = struct.unpack_from(">q", buffer, body + 17)
            commit_time = timestamp + POSTGRES_EPOCH_OFFSET_US
    elif kind == 0x4F:  # Origin: LSN, name
        end = _cstring_end(buffer, body + 8)
    elif kind == 0x52:  # Relation: OID, namespace, name, replica identity, columns
        end = _cstring_end(buffer, _cstring_end(buffer, body + 4)) + 1
        if end + 2 > len(buffer):
            raise Incomplete
        (columns,) = struct.unpack_from(">H", buffer, end)
        end += 2
        for _ in range(columns):
            end = _cstring_end(buffer, end + 1) + 8
    elif kind == 0x59:  # Type: OID, namespace, name
        end = _cstring_end(buffer, _cstring_end(buffer, body + 4))
    elif kind == 0x49:  # Insert: relation OID, 'N', new tuple
        end = _tuple_end(buffer, body + 5)
    elif kind == 0x55:  # Update: relation OID, optional 'K'/'O' old tuple, 'N', new tuple
        end = body + 4
        if end >= len(buffer):
            raise Incomplete
        if buffer[end] in (0x4B, 0x4F):
            end = _tuple_end(buffer, end + 1)
        end = _tuple_end(buffer, end + 1)
    elif kind == 0x44:  # Delete: relation OID, 'K'/'O', old tuple
        end = _tuple_end(buffer, body + 5)
    elif kind == 0x54:  # Truncate: relation count, options, OIDs
        if body + 4 > len(buffer):
            raise Incomplete
        (relations,) = struct.unpack_from(">i", buffer, body)
        end = body + 5 + 4 * relations
    elif kind == 0x4D:  # Message: flags, LSN, prefix, content
        end = _cstring_end(buffer, body + 9)
        if end + 4 > len(buffer):
            raise Incomplete
        (length,) = struct.unpack_from(">i", buffer, end)
        end += 4 + length
    else:
        raise ValueError(f"unknown pgoutput message type {kind:#x}")
    if end > len(buffer):
        raise Incomplete
    return end, kind, commit_time


class NewlineSeparatedStream:
    """Feeds chunks of `message\\n message\\n …`; reports, per commit, how many changes it completed."""

    def __init__(self):
        self.buffer = bytearray()
        self.pending_changes = 0

    def feed(self, chunk):
        """Returns [(changes, commit time in Unix µs)] for every Commit message the chunk completed."""
        self.buffer += chunk
        commits = []
        position = 0
        try:
            while position < len(self.buffer):
                end, kind, commit_time = message_end(self.buffer, position)
                if end >= len(self.buffer):
                    raise Incomplete
                if self.buffer[end] != 0x0A:
                    raise ValueError("a pgoutput message is not followed by a newline")
                position = end + 1
                if kind in _CHANGE_TYPES:
                    self.pending_changes += 1
                elif commit_time is not None:
                    commits.append((self.pending_changes, commit_time))
                    self.pending_changes = 0
        except Incomplete:
            pass
        del self.buffer[:position]
        return commits
