/// A parsed JSON value: what FlowFilters are read from, whether they come as JSON text (`JSONReader`) or as YAML
/// converted node by node (the dynamic metrics and flow-log files). No Foundation.
///
/// Numbers keep their source text so 64-bit integers (`ip_trace_id`) survive exactly.
public indirect enum JSONValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// A JSON number literal (`12`, `-3`, `0.5`, `1e+06`).
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in the order written.
    case object([JSONMember])

    /// The member `key` of an object; nil otherwise.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// Compact JSON text (members in their order, strings escaped as JSON requires).
    public var jsonText: String {
        var out = ""
        append(to: &out)
        return out
    }

    public var description: String { jsonText }

    private func append(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let v): out += v ? "true" : "false"
        case .number(let v): out += v
        case .string(let v): JSONValue.appendString(v, to: &out)
        case .array(let items):
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                v.append(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                JSONValue.appendString(m.key, to: &out)
                out += ":"
                m.value.append(to: &out)
            }
            out += "}"
        }
    }

    private static func appendString(_ s: String, to out: inout String) {
        out += "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if c.value < 0x20 {
                    let hex = String(c.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(c)
                }
            }
        }
        out += "\""
    }

    /// Short JSON rendering for error messages (keys in source order).
    public var rendered: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n
        case .string(let s): return "\"" + s + "\""
        case .array(let a): return "[" + a.map(\.rendered).joined(separator: ",") + "]"
        case .object(let m): return "{" + m.map { "\"\($0.key)\":\($0.value.rendered)" }.joined(separator: ",") + "}"
        }
    }
}

public struct JSONMember: Sendable, Hashable {
    public var key: String
    public var value: JSONValue
    public init(key: String, value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// A JSON syntax error with its byte offset and the text around it.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var offset: Int
    public var input: String
    public var description: String { "\(message) at offset \(offset) in \(Quote.text(input))" }
}

/// Text quoted for an error message.
public enum Quote {
    /// The text in double quotes, shortened in the middle when very long.
    public static func text(_ s: String, limit: Int = 200) -> String {
        if s.count <= limit { return "\"" + s + "\"" }
        return "\"" + s.prefix(limit / 2) + "…" + s.suffix(limit / 2) + "\""
    }
}

/// A small strict JSON reader (RFC 8259). `values(_:)` reads zero or more values separated only by whitespace, as
/// Hubble's streaming decoder does for allow/deny lists.
public struct JSONReader {
    private let bytes: [UInt8]
    private let input: String
    private var i = 0
    private var depth = 0

    public init(_ text: String) {
        self.input = text
        self.bytes = Array(text.utf8)
    }

    /// Exactly one value (surrounding whitespace allowed).
    public static func value(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        var r = JSONReader(text)
        r.skipWS()
        let v = try r.parseValue()
        r.skipWS()
        if r.i < r.bytes.count { throw r.error("unexpected \(r.describeHere()) after the value") }
        return v
    }

    /// Zero or more values separated by whitespace only. A comma between values, or anything else, is an error.
    public static func values(_ text: String) throws(JSONSyntaxError) -> [JSONValue] {
        var r = JSONReader(text)
        var out: [JSONValue] = []
        while true {
            r.skipWS()
            if r.i >= r.bytes.count { return out }
            if r.bytes[r.i] == UInt8(ascii: ",") {
                throw r.error("unexpected \",\" between values (separate JSON objects with whitespace, not commas)")
            }
            out.append(try r.parseValue())
        }
    }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, offset: i, input: input)
    }

    private func describeHere() -> String {
        guard i < bytes.count else { return "end of input" }
        let end = min(bytes.count, i + 12)
        return "\"" + String(decoding: bytes[i..<end], as: UTF8.self) + (end < bytes.count ? "…" : "") + "\""
    }

    private mutating func skipWS() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x09, 0x0a, 0x0d: i += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard i < bytes.count else { throw error("unexpected end of input") }
        switch bytes[i] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected \(describeHere())")
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let n = word.utf8CodeUnitCount
        let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
        guard i + n <= bytes.count, bytes[i..<(i + n)].elementsEqual(w) else {
            throw error("unexpected \(describeHere())")
        }
        i += n
    }

    private mutating func enter() throws(JSONSyntaxError) {
        depth += 1
        if depth > 64 { throw error("nesting deeper than 64") }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var members: [JSONMember] = []
        skipWS()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
        while true {
            skipWS()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                throw error("expected a quoted key, found \(describeHere())")
            }
            let key = try parseString()
            skipWS()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else {
                throw error("expected \":\" after key \"\(key)\", found \(describeHere())")
            }
            i += 1
            skipWS()
            let v = try parseValue()
            members.append(JSONMember(key: key, value: v))
            skipWS()
            guard i < bytes.count else { throw error("unterminated object") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            throw error("expected \",\" or \"}\", found \(describeHere())")
        }
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enter()
        defer { depth -= 1 }
        i += 1
        var items: [JSONValue] = []
        skipWS()
        if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
        while true {
            skipWS()
            items.append(try parseValue())
            skipWS()
            guard i < bytes.count else { throw error("unterminated array") }
            if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw error("expected \",\" or \"]\", found \(describeHere())")
        }
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = i
        if bytes[i] == UInt8(ascii: "-") { i += 1 }
        func digits(_ r: inout JSONReader) -> Int {
            let s = r.i
            while r.i < r.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(r.bytes[r.i]) { r.i += 1 }
            return r.i - s
        }
        let intDigits = digits(&self)
        guard intDigits > 0 else { throw error("invalid number") }
        if intDigits > 1 && bytes[i - intDigits] == UInt8(ascii: "0") { throw error("invalid number (leading zero)") }
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        if i < bytes.count && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            if i < bytes.count && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) { i += 1 }
            guard digits(&self) > 0 else { throw error("invalid number") }
        }
        return .number(String(decoding: bytes[start..<i], as: UTF8.self))
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw error("unterminated string") }
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "\""):
                i += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                i += 1
                guard i < bytes.count else { throw error("unterminated string") }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5c)
                case UInt8(ascii: "/"): out.append(0x2f)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0c)
                case UInt8(ascii: "n"): out.append(0x0a)
                case UInt8(ascii: "r"): out.append(0x0d)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
                        bytes[i + 1] == UInt8(ascii: "u")
                    {
                        i += 2
                        let low = try hex4()
                        if (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            scalar = 0xFFFD
                        }
                    }
                    let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default:
                    i -= 1
                    throw error("invalid escape")
                }
            case 0..<0x20:
                throw error("control character in string")
            default:
                out.append(c)
                i += 1
            }
        }
    }
}
