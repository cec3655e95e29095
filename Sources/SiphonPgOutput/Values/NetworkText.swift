// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// `inet`, `cidr`, `macaddr` and `macaddr8` text (src/port/inet_net_ntop.c, src/backend/utils/adt/network.c,
/// mac.c, mac8.c).
enum NetworkText {
    /// `network_send` family bytes.
    static let familyIPv4: UInt8 = 2
    static let familyIPv6: UInt8 = 3

    /// Writes an address as `inet_out` / `cidr_out` do.
    static func write(_ inet: PostgresInet, to writer: inout ASCIIWriter) {
        switch inet.family {
        case .ipv4:
            for (index, byte) in inet.address.prefix(4).enumerated() {
                if index > 0 { writer.write(UInt8(ascii: ".")) }
                writer.write(UInt64(byte), width: 1)
            }
            if inet.bits != 32 || inet.isCIDR {
                writer.write(UInt8(ascii: "/"))
                writer.write(UInt64(inet.bits), width: 1)
            }
        case .ipv6:
            writeIPv6(inet.address, to: &writer)
            if inet.bits != 128 || inet.isCIDR {
                writer.write(UInt8(ascii: "/"))
                writer.write(UInt64(inet.bits), width: 1)
            }
        }
    }

    /// `inet_net_ntop_ipv6`: the longest run (two or more) of zero words becomes `::`; `::a.b.c.d` and
    /// `::ffff:a.b.c.d` keep their embedded IPv4 address.
    private static func writeIPv6(_ address: [UInt8], to writer: inout ASCIIWriter) {
        var words = [Int](repeating: 0, count: 8)
        for index in 0..<16 where index < address.count {
            words[index / 2] |= Int(address[index]) << ((1 - index % 2) * 8)
        }
        var bestBase = -1
        var bestLength = 0
        var currentBase = -1
        var currentLength = 0
        for index in 0..<8 {
            if words[index] == 0 {
                if currentBase == -1 {
                    currentBase = index
                    currentLength = 1
                } else {
                    currentLength += 1
                }
            } else if currentBase != -1 {
                if bestBase == -1 || currentLength > bestLength {
                    bestBase = currentBase
                    bestLength = currentLength
                }
                currentBase = -1
            }
        }
        if currentBase != -1, bestBase == -1 || currentLength > bestLength {
            bestBase = currentBase
            bestLength = currentLength
        }
        if bestBase != -1, bestLength < 2 { bestBase = -1 }

        var index = 0
        while index < 8 {
            if bestBase != -1, index >= bestBase, index < bestBase + bestLength {
                if index == bestBase { writer.write(UInt8(ascii: ":")) }
                index += 1
                continue
            }
            if index != 0 { writer.write(UInt8(ascii: ":")) }
            if index == 6, bestBase == 0, bestLength == 6 || (bestLength == 5 && words[5] == 0xFFFF) {
                for octet in 12..<16 {
                    writer.write(UInt64(address[octet]), width: 1)
                    if octet != 15 { writer.write(UInt8(ascii: ".")) }
                }
                index = 8
                break
            }
            writeHexWord(words[index], to: &writer)
            index += 1
        }
        if bestBase != -1, bestBase + bestLength == 8 { writer.write(UInt8(ascii: ":")) }
    }

    private static func writeHexWord(_ word: Int, to writer: inout ASCIIWriter) {
        var started = false
        for shift in stride(from: 12, through: 0, by: -4) {
            let nibble = (word >> shift) & 0xF
            if nibble != 0 || started || shift == 0 {
                writer.write(hexDigits[nibble])
                started = true
            }
        }
    }

    /// Reads `inet` / `cidr` text as `network_out` writes it.
    static func parseInet(_ bytes: UnsafeRawBufferPointer, isCIDR: Bool) -> PostgresInet? {
        var slash = bytes.count
        for index in 0..<bytes.count where bytes[index] == UInt8(ascii: "/") {
            slash = index
            break
        }
        let addressBytes = UnsafeRawBufferPointer(rebasing: bytes[..<slash])
        let family: PostgresInet.Family
        let address: [UInt8]
        if addressBytes.contains(UInt8(ascii: ":")) {
            guard let parsed = parseIPv6(addressBytes) else { return nil }
            family = .ipv6
            address = parsed
        } else {
            guard let parsed = parseIPv4(addressBytes) else { return nil }
            family = .ipv4
            address = parsed
        }
        let maximum = family == .ipv4 ? 32 : 128
        var bits = maximum
        if slash < bytes.count {
            var scanner = TextScanner(UnsafeRawBufferPointer(rebasing: bytes[(slash + 1)...]))
            guard let value = scanner.readDigits(minimum: 1, maximum: 3), scanner.isAtEnd, value <= maximum else {
                return nil
            }
            bits = Int(value)
        }
        return PostgresInet(family: family, bits: UInt8(bits), address: address, isCIDR: isCIDR)
    }

    private static func parseIPv4(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        var scanner = TextScanner(bytes)
        var octets: [UInt8] = []
        for index in 0..<4 {
            if index > 0 { guard scanner.consume(UInt8(ascii: ".")) else { return nil } }
            guard let value = scanner.readDigits(minimum: 1, maximum: 3), value <= 255 else { return nil }
            octets.append(UInt8(value))
        }
        return scanner.isAtEnd ? octets : nil
    }

    private static func parseIPv6(_ bytes: UnsafeRawBufferPointer) -> [UInt8]? {
        // Split at "::" into a head and a tail of groups; the gap between them is zeros.
        var head: [UInt8] = []
        var tail: [UInt8] = []
        var sawGap = false
        var groupStart = 0
        var index = 0
        func appendGroup(_ group: UnsafeRawBufferPointer) -> Bool {
            if group.contains(UInt8(ascii: ".")) {
                guard let octets = parseIPv4(group) else { return false }
                if sawGap { tail += octets } else { head += octets }
                return true
            }
            guard !group.isEmpty, group.count <= 4 else { return false }
            var value = 0
            for byte in group {
                guard let digit = hexValue(byte) else { return false }
                value = value << 4 | Int(digit)
            }
            let pair = [UInt8(value >> 8), UInt8(value & 0xFF)]
            if sawGap { tail += pair } else { head += pair }
            return true
        }
        if bytes.count >= 2, bytes[0] == UInt8(ascii: ":"), bytes[1] == UInt8(ascii: ":") {
            sawGap = true
            index = 2
            groupStart = 2
        }
        while index <= bytes.count {
            if index == bytes.count || bytes[index] == UInt8(ascii: ":") {
                let group = UnsafeRawBufferPointer(rebasing: bytes[groupStart..<index])
                if index < bytes.count, index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: ":") {
                    guard !sawGap, appendGroup(group) else { return nil }
                    sawGap = true
                    index += 2
                    groupStart = index
                    continue
                }
                if !(group.isEmpty && index == bytes.count && sawGap) {
                    guard appendGroup(group) else { return nil }
                }
                index += 1
                groupStart = index
                continue
            }
            index += 1
        }
        let total = head.count + tail.count
        if sawGap {
            guard total < 16 else { return nil }
            return head + [UInt8](repeating: 0, count: 16 - total) + tail
        }
        return total == 16 ? head : nil
    }

    /// Writes `macaddr` / `macaddr8` bytes as lower-case colon-separated hex.
    static func writeMAC(_ bytes: [UInt8], to writer: inout ASCIIWriter) {
        for (index, byte) in bytes.enumerated() {
            if index > 0 { writer.write(UInt8(ascii: ":")) }
            writer.writeHex(byte)
        }
    }

    /// Reads `macaddr_out` / `macaddr8_out` text of `count` bytes.
    static func parseMAC(_ bytes: UnsafeRawBufferPointer, count: Int) -> [UInt8]? {
        guard bytes.count == count * 3 - 1 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let high = hexValue(bytes[index * 3]), let low = hexValue(bytes[index * 3 + 1]) else { return nil }
            if index < count - 1, bytes[index * 3 + 2] != UInt8(ascii: ":") { return nil }
            result.append(high << 4 | low)
        }
        return result
    }
}
