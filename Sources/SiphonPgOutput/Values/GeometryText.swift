// Copyright 2026 The Siphon Authors. Licensed under the Apache License, Version 2.0.

/// Text of the geometric types as src/backend/utils/adt/geo_ops.c writes it, numbers by `float8out`.
enum GeometryText {
    static func append(_ geometry: PostgresGeometry, to output: inout String) {
        switch geometry {
        case .point(let point):
            append(point, to: &output)
        case .line(let a, let b, let c):
            output.append("{")
            FloatText.append(a, to: &output)
            output.append(",")
            FloatText.append(b, to: &output)
            output.append(",")
            FloatText.append(c, to: &output)
            output.append("}")
        case .lseg(let start, let end):
            output.append("[")
            append(start, to: &output)
            output.append(",")
            append(end, to: &output)
            output.append("]")
        case .box(let high, let low):
            append(high, to: &output)
            output.append(",")
            append(low, to: &output)
        case .path(let closed, let points):
            output.append(closed ? "(" : "[")
            appendList(points, to: &output)
            output.append(closed ? ")" : "]")
        case .polygon(let points):
            output.append("(")
            appendList(points, to: &output)
            output.append(")")
        case .circle(let center, let radius):
            output.append("<")
            append(center, to: &output)
            output.append(",")
            FloatText.append(radius, to: &output)
            output.append(">")
        }
    }

    private static func append(_ point: PostgresPoint, to output: inout String) {
        output.append("(")
        FloatText.append(point.x, to: &output)
        output.append(",")
        FloatText.append(point.y, to: &output)
        output.append(")")
    }

    private static func appendList(_ points: [PostgresPoint], to output: inout String) {
        for (index, point) in points.enumerated() {
            if index > 0 { output.append(",") }
            append(point, to: &output)
        }
    }

    /// Reads the text of `type` (one of the geometric scalar types).
    static func parse(_ bytes: UnsafeRawBufferPointer, as type: ScalarType) -> PostgresGeometry? {
        guard let first = bytes.first, var numbers = numbers(in: bytes) else { return nil }
        func points() -> [PostgresPoint]? {
            guard numbers.count % 2 == 0 else { return nil }
            return stride(from: 0, to: numbers.count, by: 2).map { PostgresPoint(x: numbers[$0], y: numbers[$0 + 1]) }
        }
        switch type {
        case .point:
            guard numbers.count == 2 else { return nil }
            return .point(PostgresPoint(x: numbers[0], y: numbers[1]))
        case .line:
            guard numbers.count == 3 else { return nil }
            return .line(a: numbers[0], b: numbers[1], c: numbers[2])
        case .lseg:
            guard numbers.count == 4 else { return nil }
            return .lseg(PostgresPoint(x: numbers[0], y: numbers[1]), PostgresPoint(x: numbers[2], y: numbers[3]))
        case .box:
            guard numbers.count == 4 else { return nil }
            return .box(
                high: PostgresPoint(x: numbers[0], y: numbers[1]),
                low: PostgresPoint(x: numbers[2], y: numbers[3])
            )
        case .path:
            guard let points = points() else { return nil }
            return .path(closed: first == UInt8(ascii: "("), points: points)
        case .polygon:
            guard let points = points() else { return nil }
            return .polygon(points)
        case .circle:
            guard numbers.count == 3 else { return nil }
            let radius = numbers.removeLast()
            return .circle(center: PostgresPoint(x: numbers[0], y: numbers[1]), radius: radius)
        default:
            return nil
        }
    }

    /// The numbers between the punctuation `()[]{}<>,` of a geometric value's text.
    private static func numbers(in bytes: UnsafeRawBufferPointer) -> [Double]? {
        var result: [Double] = []
        var start = -1
        for index in 0...bytes.count {
            let byte = index < bytes.count ? bytes[index] : UInt8(ascii: ",")
            switch byte {
            case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "{"),
                UInt8(ascii: "}"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: ","):
                if start >= 0 {
                    guard let value = FloatText.parseDouble(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
                    else { return nil }
                    result.append(value)
                    start = -1
                }
            default:
                if start < 0 { start = index }
            }
        }
        return result
    }
}
