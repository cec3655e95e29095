// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore

/// One message of the pgoutput logical replication protocol, versions 1 and 2
/// (PostgreSQL docs, "Logical Replication Message Formats").
///
/// Column values stay `ByteBuffer` slices of the received bytes; nothing is copied or rendered here.
/// ``PgOutputDecoder`` makes these from bytes, ``ChangeAssembler`` turns them into changes.
public enum PgOutputMessage: Sendable, Hashable {
    /// `B`: a transaction's changes follow.
    case begin(Begin)
    /// `C`: the transaction that `begin` opened is complete.
    case commit(Commit)
    /// `O`: the transaction's changes came from another node through this replication origin.
    case origin(Origin)
    /// `R`: the layout of a table; sent before its first change and again after its schema changes.
    case relation(Relation)
    /// `Y`: the name of a user-defined type used by a following relation.
    case type(TypeDefinition)
    /// `I`: a row was inserted.
    case insert(Insert)
    /// `U`: a row was updated.
    case update(Update)
    /// `D`: a row was deleted.
    case delete(Delete)
    /// `T`: tables were truncated.
    case truncate(Truncate)
    /// `M`: a message written with `pg_logical_emit_message()`.
    case message(LogicalMessage)
    /// `S` (protocol 2): a block of changes of a transaction still in progress follows.
    case streamStart(StreamStart)
    /// `E` (protocol 2): the block that `streamStart` opened ends.
    case streamStop
    /// `c` (protocol 2): a streamed transaction committed.
    case streamCommit(StreamCommit)
    /// `A` (protocol 2): a streamed transaction, or one of its subtransactions, rolled back.
    case streamAbort(StreamAbort)

    /// The type byte that starts this message on the wire.
    public var typeByte: UInt8 {
        switch self {
        case .begin: UInt8(ascii: "B")
        case .commit: UInt8(ascii: "C")
        case .origin: UInt8(ascii: "O")
        case .relation: UInt8(ascii: "R")
        case .type: UInt8(ascii: "Y")
        case .insert: UInt8(ascii: "I")
        case .update: UInt8(ascii: "U")
        case .delete: UInt8(ascii: "D")
        case .truncate: UInt8(ascii: "T")
        case .message: UInt8(ascii: "M")
        case .streamStart: UInt8(ascii: "S")
        case .streamStop: UInt8(ascii: "E")
        case .streamCommit: UInt8(ascii: "c")
        case .streamAbort: UInt8(ascii: "A")
        }
    }

    /// A readable name for a message type byte, e.g. `Insert ('I')`, for errors and logs.
    public static func name(ofType type: UInt8) -> String {
        let name =
            switch type {
            case UInt8(ascii: "B"): "Begin"
            case UInt8(ascii: "C"): "Commit"
            case UInt8(ascii: "O"): "Origin"
            case UInt8(ascii: "R"): "Relation"
            case UInt8(ascii: "Y"): "Type"
            case UInt8(ascii: "I"): "Insert"
            case UInt8(ascii: "U"): "Update"
            case UInt8(ascii: "D"): "Delete"
            case UInt8(ascii: "T"): "Truncate"
            case UInt8(ascii: "M"): "Message"
            case UInt8(ascii: "S"): "Stream Start"
            case UInt8(ascii: "E"): "Stream Stop"
            case UInt8(ascii: "c"): "Stream Commit"
            case UInt8(ascii: "A"): "Stream Abort"
            default: "unknown"
            }
        let character =
            (0x20..<0x7F).contains(type) ? "'\(Character(Unicode.Scalar(type)))'" : "0x\(String(type, radix: 16))"
        return "\(name) (\(character))"
    }
}
