/// Decoding of the text operands of protocol 0 (STRING, UNICODE).
enum PickleText {
    /// A Python `repr` of a str: quoted with ' or ", with backslash escapes.
    static func quotedString(_ s: String) -> String? {
        guard s.count >= 2, let q = s.first, q == "'" || q == "\"", s.last == q else { return nil }
        let body = Array(s.unicodeScalars.dropFirst().dropLast())
        var out = String.UnicodeScalarView()
        var i = 0
        while i < body.count {
            let c = body[i]
            i += 1
            guard c == "\\", i < body.count else { out.append(c); continue }
            let e = body[i]
            i += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "0": out.append("\0")
            case "x":
                guard i + 2 <= body.count, let v = UInt32(String(String.UnicodeScalarView(body[i..<(i + 2)])), radix: 16),
                      let u = UnicodeScalar(v) else { return nil }
                out.append(u)
                i += 2
            default: out.append(e)
            }
        }
        return String(out)
    }

    /// Python's raw-unicode-escape: only \uXXXX and \UXXXXXXXX are escapes.
    static func rawUnicodeEscape(_ s: String) -> String {
        let u = Array(s.unicodeScalars)
        var out = String.UnicodeScalarView()
        var i = 0
        while i < u.count {
            if u[i] == "\\", i + 1 < u.count, u[i + 1] == "u" || u[i + 1] == "U" {
                let n = u[i + 1] == "u" ? 4 : 8
                if i + 2 + n <= u.count, let v = UInt32(String(String.UnicodeScalarView(u[(i + 2)..<(i + 2 + n)])), radix: 16),
                   let scalar = UnicodeScalar(v) {
                    out.append(scalar)
                    i += 2 + n
                    continue
                }
            }
            out.append(u[i])
            i += 1
        }
        return String(out)
    }
}
