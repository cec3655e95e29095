// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

import SiphonCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `PATH.siphon`, kept next to a jsonl file: which source the file's changes came from, the slot position last
/// confirmed for it, and the id sources its lines use (one per outbox partition in trigger mode), so that reopening
/// finds the last id of each.
///
/// A file of its own rather than a header line, so every line of the jsonl file stays a change and readers need not
/// know about Siphon. Text, one `name=value` a line, values percent-encoded outside printable ASCII:
/// ```
/// siphon-source 1
/// system_identifier=7312345678901234567
/// timeline=1
/// database=shop
/// slot=orders
/// confirmed=0/1A2B3C4
/// change_source=orders
/// ```
/// It is replaced whole (write a temporary file, fsync, rename, fsync the directory), so a crash leaves the old
/// record or the new one, never a mix.
struct SourceRecordFile {
    var source: SourceIdentity
    /// The slot was confirmed at most this far for the file's changes; `nil` before the first session recorded it.
    var confirmed: LSN?
    /// The `Change.ID.source`s of the file's lines.
    var changeSources: [String] = []

    private static let header = "siphon-source 1"

    static func path(for jsonLinesPath: String) -> String { jsonLinesPath + ".siphon" }

    /// The record at `path`; `nil` when there is none.
    static func read(_ path: String) throws(SiphonError) -> SourceRecordFile? {
        let descriptor: Int32
        do {
            descriptor = try FileDescriptorIO.openFile(path, O_RDONLY)
        } catch where error.errno == ENOENT {
            return nil
        } catch {
            throw SiphonError(.sinkRejected, "cannot read \(path): \(error.reason)", underlying: error)
        }
        defer { try? FileDescriptorIO.closeFile(descriptor) }
        let bytes: [UInt8]
        do throws(SystemCallError) {
            let size = try FileDescriptorIO.status(descriptor).size
            guard size <= 1 << 20 else { throw SystemCallError("read", errno: EFBIG) }
            bytes = try FileDescriptorIO.read(descriptor, count: Int(size), at: 0)
        } catch {
            throw SiphonError(.sinkRejected, "cannot read \(path): \(error.reason)", underlying: error)
        }
        guard let record = Self(parsing: String(decoding: bytes, as: UTF8.self)) else {
            throw SiphonError(
                .sinkRejected,
                "\(path) is not a source record Siphon wrote; it records where the changes next to it came from. "
                    + "Restore it, or move both files away and start a new one")
        }
        return record
    }

    init(source: SourceIdentity, confirmed: LSN?) {
        self.source = source
        self.confirmed = confirmed
    }

    init?(parsing text: String) {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.first == Substring(Self.header), lines.last == "" else { return nil }
        lines.removeFirst()
        lines.removeLast()
        var fields: [SourceIdentity.Field] = []
        var confirmed: LSN?
        var changeSources: [String] = []
        for line in lines {
            guard let equals = line.firstIndex(of: "="),
                let value = Self.decode(line[line.index(after: equals)...])
            else { return nil }
            let name = String(line[..<equals])
            if name == "confirmed" {
                guard let lsn = LSN(value) else { return nil }
                confirmed = lsn
            } else if name == "change_source" {
                changeSources.append(value)
            } else {
                fields.append(SourceIdentity.Field(name, value))
            }
        }
        self.init(source: SourceIdentity(fields: fields, changeSource: ""), confirmed: confirmed)
        self.changeSources = changeSources
    }

    var text: String {
        var text = Self.header + "\n"
        for field in self.source.fields { text += "\(field.name)=\(Self.encode(field.value))\n" }
        if let confirmed { text += "confirmed=\(confirmed)\n" }
        for source in self.changeSources { text += "change_source=\(Self.encode(source))\n" }
        return text
    }

    /// Replaces the record at `path` atomically and durably.
    func write(to path: String) throws(SiphonError) {
        let temporary = path + ".tmp"
        do throws(SystemCallError) {
            let descriptor = try FileDescriptorIO.openFile(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode: 0o644)
            do throws(SystemCallError) {
                var text = self.text
                try FileDescriptorIO.writeAll(descriptor, &text)
                try FileDescriptorIO.sync(descriptor)
                try FileDescriptorIO.closeFile(descriptor)
            } catch {
                try? FileDescriptorIO.closeFile(descriptor)
                throw error
            }
            while rename(temporary, path) != 0 {
                if errno != EINTR { throw SystemCallError("rename", errno: errno) }
            }
            try FileDescriptorIO.syncDirectory(of: path)
        } catch {
            throw SiphonError(.sinkRejected, "cannot write \(path): \(error.reason)", underlying: error)
        }
    }

    private static func encode(_ value: String) -> String {
        var text = ""
        for byte in value.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") {
                text.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                text += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return text
    }

    private static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.popFirst().flatMap(Self.hexDigit), let low = utf8.popFirst().flatMap(Self.hexDigit)
            else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
