/// Wire encoding of a name as DNSMessage renders it (lower case, trailing dot, `\DDD`, `\.` and `\\` escapes).
public enum DNSName {
    public static func wire(_ name: String) -> [UInt8]? {
        if name == "." { return [0] }
        let b = Array(name.utf8)
        var out: [UInt8] = []
        var label: [UInt8] = []
        var i = 0
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { return nil }
                let n = b[i + 1]
                if n >= UInt8(ascii: "0") && n <= UInt8(ascii: "9") {
                    guard i + 3 < b.count else { return nil }
                    let digits = b[(i + 1)...(i + 3)].map { Int($0) - 48 }
                    guard digits.allSatisfy({ (0...9).contains($0) }) else { return nil }
                    let v = digits[0] * 100 + digits[1] * 10 + digits[2]
                    guard v <= 255 else { return nil }
                    label.append(UInt8(v))
                    i += 4
                } else {
                    label.append(n)
                    i += 2
                }
                continue
            }
            if c == UInt8(ascii: ".") {
                guard !label.isEmpty, label.count <= 63 else { return nil }
                out.append(UInt8(label.count))
                out += label
                label = []
            } else {
                label.append(c)
            }
            i += 1
        }
        guard label.isEmpty, out.count + 1 <= 255 else { return nil }  // must end with the trailing dot
        return out + [0]
    }
}
