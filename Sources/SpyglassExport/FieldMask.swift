/// A validated, normalised set of `Flow` field paths (docs/hubble-compatibility.md §9.4): `--hubble-export-fieldmask`,
/// `--hubble-export-fieldaggregate` and the dynamic config's `fieldMask`/`fieldAggregate`.
///
/// A node with no children keeps its whole field; a node with children keeps only those sub-fields, and its
/// message is always written (pre-allocated) unless it is a oneof member, which appears only when it is the active
/// variant.
public final class FieldMask: Sendable, Equatable, CustomStringConvertible {
    let message: String
    let children: [String: FieldMask]

    private init(message: String, children: [String: FieldMask]) {
        self.message = message
        self.children = children
    }

    /// Parses dotted proto paths (`source.pod_name`, `l4.TCP.destination_port`, `IP`). A parent path absorbs its
    /// children. Throws `FieldMaskError` quoting the invalid path.
    public convenience init(paths: [String]) throws(FieldMaskError) {
        var tree = Builder()
        for p in paths {
            let path = p.trimmingSpaces
            guard !path.isEmpty else { continue }
            let parts = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            var message = "Flow"
            for (i, part) in parts.enumerated() {
                guard let fields = FlowSchema.messages[message], let field = fields.first(where: { $0.name == part })
                else {
                    throw FieldMaskError(path: p, reason: "\"\(part)\" is not a field of \(message)")
                }
                if i < parts.count - 1 {
                    switch field.kind {
                    case .message(let m), .oneofMessage(let m): message = m
                    case .scalar, .repeated:
                        throw FieldMaskError(path: p, reason: "\"\(part)\" of \(message) has no sub-fields")
                    }
                }
            }
            tree.insert(parts[...])
        }
        self.init(built: tree, message: "Flow")
    }

    private convenience init(built: Builder, message: String) {
        var children: [String: FieldMask] = [:]
        let fields = FlowSchema.messages[message] ?? []
        for (name, child) in built.children {
            var sub = ""
            if let f = fields.first(where: { $0.name == name }) {
                switch f.kind {
                case .message(let m), .oneofMessage(let m): sub = m
                default: break
                }
            }
            children[name] = FieldMask(built: child, message: sub)
        }
        self.init(message: message, children: children)
    }

    /// Whether no path was given (the mask keeps nothing; callers treat an empty mask as "no mask").
    public var isEmpty: Bool { children.isEmpty }

    /// Normalised paths, sorted.
    public var paths: [String] {
        var out: [String] = []
        func walk(_ m: FieldMask, _ prefix: String) {
            for (k, c) in m.children {
                let p = prefix.isEmpty ? k : prefix + "." + k
                if c.children.isEmpty { out.append(p) } else { walk(c, p) }
            }
        }
        walk(self, "")
        return out.sorted()
    }

    public var description: String { paths.joined(separator: ",") }

    public static func == (a: FieldMask, b: FieldMask) -> Bool { a.paths == b.paths }

    /// The same mask with `field` (a top-level Flow field) kept whole.
    func adding(topLevel field: String) -> FieldMask {
        var c = children
        c[field] = FieldMask(message: "", children: [:])
        return FieldMask(message: message, children: c)
    }

    /// What to do with one field of the message this node masks.
    @inline(__always)
    func select(_ name: String) -> FieldSelection {
        guard let c = children[name] else { return .skip }
        return c.children.isEmpty ? .all : .sub(c)
    }

    private struct Builder {
        var children: [String: Builder] = [:]
        var whole = false

        mutating func insert(_ parts: ArraySlice<String>) {
            guard let first = parts.first else {
                whole = true
                children = [:]
                return
            }
            if whole { return }
            var child = children[first] ?? Builder()
            if child.whole { return }
            child.insert(parts.dropFirst())
            children[first] = child
        }
    }
}

enum FieldSelection {
    case skip
    case all
    case sub(FieldMask)
}

/// An invalid field-mask or aggregate path.
public struct FieldMaskError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "invalid field path \"\(path)\": \(reason)" }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
