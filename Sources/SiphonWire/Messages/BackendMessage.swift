// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import NIOCore
import SiphonCore

/// A message from the server, as defined in "Message Formats" (PostgreSQL docs, protocol chapter 55.7).
public enum BackendMessage: Sendable, Equatable {
    case authentication(Authentication)
    case parameterStatus(name: String, value: String)
    case backendKeyData(processID: Int32, secretKey: Int32)
    /// The server is idle; `transactionStatus` is `I`, `T` or `E`.
    case readyForQuery(transactionStatus: UInt8)
    case rowDescription([ColumnDescription])
    /// One result row; `nil` is SQL NULL. Values are in text format (simple query protocol).
    case dataRow([ByteBuffer?])
    case commandComplete(tag: String)
    case emptyQueryResponse
    case errorResponse(ErrorFields)
    case noticeResponse(ErrorFields)
    /// The server switched to copy-both mode (`START_REPLICATION`).
    case copyBothResponse
    case copyOutResponse
    case copyInResponse
    case copyData(ByteBuffer)
    case copyDone
    case notificationResponse(processID: Int32, channel: String, payload: String)
    /// Extended query protocol: `Parse` succeeded.
    case parseComplete
    /// Extended query protocol: `Bind` succeeded.
    case bindComplete
    /// Extended query protocol: the described portal returns no rows.
    case noData

    /// An `R` message: what the server wants in order to authenticate us.
    public enum Authentication: Sendable, Equatable {
        case ok
        case cleartextPassword
        case md5Password(salt: [UInt8])
        case sasl(mechanisms: [String])
        case saslContinue(data: [UInt8])
        case saslFinal(data: [UInt8])
        /// Kerberos, GSSAPI, SSPI and other methods we do not implement.
        case unsupported(code: Int32)
    }

    /// One field of a `RowDescription`.
    public struct ColumnDescription: Sendable, Equatable {
        public var name: String
        public var typeOID: UInt32
    }

    /// The fields of an `ErrorResponse` / `NoticeResponse`, keyed by their one-byte codes.
    public struct ErrorFields: Sendable, Equatable {
        public var fields: [UInt8: String]

        public init(fields: [UInt8: String]) { self.fields = fields }

        /// The fields a person or program acts on (severity `V`, code `C`, message `M`, detail `D`, hint `H`).
        public var serverError: ServerErrorFields {
            ServerErrorFields(
                severity: self.fields[UInt8(ascii: "V")] ?? self.fields[UInt8(ascii: "S")] ?? "ERROR",
                sqlState: self.fields[UInt8(ascii: "C")] ?? "XX000",
                message: self.fields[UInt8(ascii: "M")] ?? "unknown error",
                detail: self.fields[UInt8(ascii: "D")],
                hint: self.fields[UInt8(ascii: "H")])
        }
    }
}

/// Bytes from the server that break the protocol.
public struct WireDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var messageType: UInt8
    public var reason: String

    public init(messageType: UInt8, reason: String) {
        self.messageType = messageType
        self.reason = reason
    }

    public var description: String {
        let name = (0x20..<0x7F).contains(self.messageType) ? "'\(Character(Unicode.Scalar(self.messageType)))'" : "0x\(String(self.messageType, radix: 16))"
        return "malformed backend message \(name): \(self.reason)"
    }
}

extension BackendMessage {
    /// Decodes the body of one message whose type byte and length were already read; consumes the whole body.
    public static func decode(type: UInt8, body: inout ByteBuffer) throws(WireDecodingError) -> BackendMessage {
        var reader = BodyReader(type: type, buffer: body)
        let message: BackendMessage
        switch type {
        case UInt8(ascii: "R"): message = .authentication(try Self.decodeAuthentication(&reader))
        case UInt8(ascii: "S"):
            message = .parameterStatus(name: try reader.cString("parameter name"), value: try reader.cString("parameter value"))
        case UInt8(ascii: "K"):
            message = .backendKeyData(processID: try reader.integer("process id"), secretKey: try reader.integer("secret key"))
        case UInt8(ascii: "Z"): message = .readyForQuery(transactionStatus: try reader.integer("transaction status"))
        case UInt8(ascii: "T"):
            let count: Int16 = try reader.integer("field count")
            var columns: [ColumnDescription] = []
            columns.reserveCapacity(Int(max(count, 0)))
            for _ in 0..<max(count, 0) {
                let name = try reader.cString("field name")
                let _: UInt32 = try reader.integer("table oid")
                let _: Int16 = try reader.integer("column number")
                let typeOID: UInt32 = try reader.integer("type oid")
                let _: Int16 = try reader.integer("type size")
                let _: Int32 = try reader.integer("type modifier")
                let _: Int16 = try reader.integer("format code")
                columns.append(ColumnDescription(name: name, typeOID: typeOID))
            }
            message = .rowDescription(columns)
        case UInt8(ascii: "D"):
            let count: Int16 = try reader.integer("column count")
            var values: [ByteBuffer?] = []
            values.reserveCapacity(Int(max(count, 0)))
            for _ in 0..<max(count, 0) {
                let length: Int32 = try reader.integer("value length")
                values.append(length < 0 ? nil : try reader.slice(Int(length), "value"))
            }
            message = .dataRow(values)
        case UInt8(ascii: "C"): message = .commandComplete(tag: try reader.cString("command tag"))
        case UInt8(ascii: "I"): message = .emptyQueryResponse
        case UInt8(ascii: "E"): message = .errorResponse(try Self.decodeErrorFields(&reader))
        case UInt8(ascii: "N"): message = .noticeResponse(try Self.decodeErrorFields(&reader))
        case UInt8(ascii: "W"):
            reader.skipRest()
            message = .copyBothResponse
        case UInt8(ascii: "H"):
            reader.skipRest()
            message = .copyOutResponse
        case UInt8(ascii: "G"):
            reader.skipRest()
            message = .copyInResponse
        case UInt8(ascii: "d"): message = .copyData(reader.rest())
        case UInt8(ascii: "c"): message = .copyDone
        case UInt8(ascii: "A"):
            message = .notificationResponse(
                processID: try reader.integer("process id"), channel: try reader.cString("channel"),
                payload: try reader.cString("payload"))
        case UInt8(ascii: "1"): message = .parseComplete
        case UInt8(ascii: "2"): message = .bindComplete
        case UInt8(ascii: "n"): message = .noData
        default:
            throw WireDecodingError(messageType: type, reason: "unknown message type")
        }
        try reader.expectEnd()
        return message
    }

    private static func decodeAuthentication(_ reader: inout BodyReader) throws(WireDecodingError) -> Authentication {
        let code: Int32 = try reader.integer("authentication code")
        switch code {
        case 0: return .ok
        case 3: return .cleartextPassword
        case 5: return .md5Password(salt: try reader.bytes(4, "md5 salt"))
        case 10:
            var mechanisms: [String] = []
            while true {
                let mechanism = try reader.cString("SASL mechanism")
                if mechanism.isEmpty { break }
                mechanisms.append(mechanism)
            }
            return .sasl(mechanisms: mechanisms)
        case 11: return .saslContinue(data: reader.restBytes())
        case 12: return .saslFinal(data: reader.restBytes())
        default:
            reader.skipRest()
            return .unsupported(code: code)
        }
    }

    private static func decodeErrorFields(_ reader: inout BodyReader) throws(WireDecodingError) -> ErrorFields {
        var fields: [UInt8: String] = [:]
        while true {
            let code: UInt8 = try reader.integer("error field code")
            if code == 0 { break }
            fields[code] = try reader.cString("error field value")
        }
        return ErrorFields(fields: fields)
    }
}

/// Reads a message body, turning every shortfall into a `WireDecodingError` that names what was being read.
struct BodyReader {
    let type: UInt8
    var buffer: ByteBuffer

    mutating func integer<T: FixedWidthInteger>(_ what: String) throws(WireDecodingError) -> T {
        guard let value = self.buffer.readInteger(as: T.self) else { throw self.truncated(what) }
        return value
    }

    mutating func cString(_ what: String) throws(WireDecodingError) -> String {
        guard let value = self.buffer.readNullTerminatedString() else { throw self.truncated(what) }
        return value
    }

    mutating func slice(_ length: Int, _ what: String) throws(WireDecodingError) -> ByteBuffer {
        guard length >= 0, let value = self.buffer.readSlice(length: length) else { throw self.truncated(what) }
        return value
    }

    mutating func bytes(_ length: Int, _ what: String) throws(WireDecodingError) -> [UInt8] {
        guard let value = self.buffer.readBytes(length: length) else { throw self.truncated(what) }
        return value
    }

    mutating func rest() -> ByteBuffer { self.buffer.readSlice(length: self.buffer.readableBytes)! }
    mutating func restBytes() -> [UInt8] { self.buffer.readBytes(length: self.buffer.readableBytes)! }
    mutating func skipRest() { self.buffer.moveReaderIndex(forwardBy: self.buffer.readableBytes) }

    func expectEnd() throws(WireDecodingError) {
        guard self.buffer.readableBytes == 0 else {
            throw WireDecodingError(messageType: self.type, reason: "\(self.buffer.readableBytes) unexpected trailing bytes")
        }
    }

    private func truncated(_ what: String) -> WireDecodingError {
        WireDecodingError(messageType: self.type, reason: "message ends before \(what)")
    }
}
