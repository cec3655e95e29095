// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// pgoutput bytes that could not be decoded, or messages that arrived in an order the protocol does not allow.
///
/// Thrown by ``PgOutputDecoder`` and ``ChangeAssembler``; the replication layer wraps it in a `SiphonError`
/// (`.decodingFailed`) together with the message's hex dump and LSN.
public struct PgOutputDecodingError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Hashable {
        /// The message ended while `field` was being read.
        case truncated(field: String)
        /// `count` bytes were left after the message's last field.
        case trailingBytes(count: Int)
        /// The message was empty: not even a type byte.
        case emptyMessage
        /// The type byte names no message of pgoutput protocol versions 1 and 2.
        case unknownMessageType
        /// `field` held `value`, which the protocol does not allow there.
        case invalidValue(field: String, value: Int64)
        /// The message is well formed but the protocol does not allow it at this point of the stream.
        case unexpectedMessage(String)
        /// A change refers to a relation that no Relation message has described.
        case unknownRelation(oid: UInt32)
        /// A tuple has a different number of columns than its relation.
        case columnCountMismatch(relation: String, expected: Int, actual: Int)
    }

    /// The type byte of the message (`'I'` for Insert…), `nil` when there was none.
    public var messageType: UInt8?
    public var reason: Reason
    /// Where the error was raised, for bug reports.
    public var file: String
    public var line: Int

    public init(messageType: UInt8? = nil, _ reason: Reason, file: String = #fileID, line: Int = #line) {
        self.messageType = messageType
        self.reason = reason
        self.file = file
        self.line = line
    }

    static func truncated(_ field: StaticString, file: String = #fileID, line: Int = #line) -> Self {
        Self(.truncated(field: field.description), file: file, line: line)
    }

    static func invalidValue(
        _ field: StaticString,
        _ value: some BinaryInteger,
        file: String = #fileID,
        line: Int = #line
    ) -> Self {
        Self(.invalidValue(field: field.description, value: Int64(truncatingIfNeeded: value)), file: file, line: line)
    }

    static func unexpected(
        _ type: UInt8,
        _ explanation: String,
        file: String = #fileID,
        line: Int = #line
    ) -> Self {
        Self(messageType: type, .unexpectedMessage(explanation), file: file, line: line)
    }

    public var description: String {
        var text = "pgoutput "
        if let messageType {
            text += "\(PgOutputMessage.name(ofType: messageType)) message: "
        } else {
            text += "message: "
        }
        switch self.reason {
        case .truncated(let field):
            text += "ended while reading \(field)"
        case .trailingBytes(let count):
            text += "\(count) unexpected bytes after the last field"
        case .emptyMessage:
            text += "no bytes at all"
        case .unknownMessageType:
            text += "unknown message type"
        case .invalidValue(let field, let value):
            text += "invalid \(field) \(value)"
        case .unexpectedMessage(let explanation):
            text += explanation
        case .unknownRelation(let oid):
            text += "no Relation message has described relation \(oid)"
        case .columnCountMismatch(let relation, let expected, let actual):
            text += "tuple has \(actual) columns but relation \(relation) has \(expected)"
        }
        return text
    }
}
