import Ops

/// The `family` declarations of a session: each binds role names (`model`, `tp`, `pp`, ...) to
/// the maps and tables of one model family, so the directions in Recipes/common/ are written once
/// and every family is one layout file. A family may extend another: its roles come first, then
/// the base's. Roles may sit under `if`, evaluated each time a role is resolved (so they can
/// depend on parameters bound after the declaration, e.g. `enable_canonical_hf_struct`).
struct Families {
    struct Declaration {
        var base: String?
        var body: [Stmt]
        var location: SourceLocation
    }

    var declarations: [String: Declaration] = [:]
    /// The family `family NAME` selected last.
    var active: String?

    /// Every role name a family (or its bases) binds, with the targets of all its branches.
    static func roleTargets(_ body: [Stmt], into out: inout [String: [(String, SourceLocation)]]) {
        for s in body {
            switch s.kind {
            case let .role(r, t): out[r, default: []].append((t, s.location))
            case let .if(_, a, b):
                roleTargets(a, into: &out)
                roleTargets(b ?? [], into: &out)
            default: break
            }
        }
    }

    /// The family chain from `name` up through its bases; a cycle or an unknown base is an error.
    func chain(_ name: String, at location: SourceLocation?) throws -> [Declaration] {
        var out: [Declaration] = []
        var seen: [String] = []
        var next: String? = name
        while let n = next {
            if seen.contains(n) {
                throw RecipeError("family '\(n)' extends itself: " + (seen + [n]).joined(separator: " -> "), at: location)
            }
            guard let d = declarations[n] else {
                throw RecipeError(Suggestions.message("unknown family '\(n)'", for: n, in: declarations.keys.sorted()), at: location)
            }
            seen.append(n)
            out.append(d)
            next = d.base
        }
        return out
    }

    /// The map or table the active family binds `role` to, evaluating `if` conditions now; nil
    /// when no family is selected or it does not bind the role.
    func resolve(_ role: String, condition: (Expr) throws -> Bool, at location: SourceLocation) throws -> String? {
        guard let active else { return nil }
        func find(_ body: [Stmt]) throws -> String? {
            for s in body {
                switch s.kind {
                case let .role(r, t) where r == role: return t
                case let .if(c, a, b):
                    // Only a condition that decides this role is evaluated (it may name
                    // something bound later than the roles outside it are used).
                    var inside: [String: [(String, SourceLocation)]] = [:]
                    Families.roleTargets(a + (b ?? []), into: &inside)
                    if inside[role] != nil, let t = try find(try condition(c) ? a : b ?? []) { return t }
                default: break
                }
            }
            return nil
        }
        for d in try chain(active, at: location) {
            if let t = try find(d.body) { return t }
        }
        return nil
    }
}

/// What the static check knows of roles: which role names stand for maps and which for tables
/// (of which kind), from every family declared; checked so each role's targets exist and are
/// all maps or all tables of one kind.
struct RoleKinds {
    var maps: Set<String> = []
    var tables: [String: String] = [:]

    init(families: [String: Families.Declaration], maps declaredMaps: Set<String>,
         tables declaredTables: [String: String]) throws {
        var targets: [String: [(String, SourceLocation)]] = [:]
        for name in families.keys.sorted() {
            let f = families[name]!
            if let base = f.base, families[base] == nil {
                throw RecipeError(Suggestions.message("family '\(name)' extends unknown family '\(base)'", for: base, in: families.keys.sorted()), at: f.location)
            }
            Families.roleTargets(f.body, into: &targets)
        }
        for role in targets.keys.sorted() {
            if declaredMaps.contains(role) || declaredTables[role] != nil {
                throw RecipeError("role '\(role)' has the name of a declared \(declaredMaps.contains(role) ? "map" : "table"); give the role or the declaration another name", at: targets[role]![0].1)
            }
            var kind: String?
            for (t, loc) in targets[role]! {
                let k: String
                if declaredMaps.contains(t) { k = "map" } else if let tk = declaredTables[t] { k = tk } else {
                    let known = Array(declaredMaps) + Array(declaredTables.keys)
                    throw RecipeError(Suggestions.message("role '\(role)' names '\(t)', which is no declared map or table", for: t, in: known.sorted()), at: loc)
                }
                if let kind, kind != k {
                    throw RecipeError("role '\(role)' names a \(kind == "map" ? "map" : "\(kind) table") elsewhere, but '\(t)' is a \(k == "map" ? "map" : "\(k) table")", at: loc)
                }
                kind = k
            }
            if kind == "map" { maps.insert(role) } else if let kind { tables[role] = kind }
        }
    }
}
