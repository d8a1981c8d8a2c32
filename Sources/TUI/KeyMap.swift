/// The browser's key bindings: one table that both dispatches keys and
/// writes the help box and the status-line hints, so they cannot disagree.
public struct KeyMap: Sendable {
    /// One row of the table: the keys, how the help shows them, and what
    /// they do.
    public struct Binding: Sendable {
        public var keys: [Key]
        public var label: String
        public var action: Action
        public var help: String
    }

    public let bindings: [Binding]
    private let table: [Key: Action]

    public init(_ bindings: [Binding]) {
        self.bindings = bindings
        var table: [Key: Action] = [:]
        for b in bindings {
            for k in b.keys {
                precondition(table[k] == nil, "key \(k) bound twice")
                table[k] = b.action
            }
        }
        self.table = table
    }

    /// The key list.
    public static let browser = KeyMap([
        Binding(keys: [.up, .char("k")], label: "↑ k", action: .previousDirection, help: "previous direction"),
        Binding(keys: [.down, .char("j")], label: "↓ j", action: .nextDirection, help: "next direction"),
        Binding(keys: [.left, .char("h")], label: "← h", action: .stepBackward, help: "step back along it"),
        Binding(keys: [.right, .char("l")], label: "→ l", action: .stepForward, help: "step forward along it"),
        Binding(keys: [.char("+"), .char("]")], label: "+ ]", action: .increaseStride,
                help: "longer stride (×1.25)"),
        Binding(keys: [.char("-"), .char("[")], label: "− [", action: .decreaseStride, help: "shorter stride (÷1.25)"),
        Binding(keys: [.char("m")], label: "m", action: .cycleMode, help: "walk: linear → norm → density"),
        Binding(keys: [.char("d")], label: "d", action: .cycleMethod, help: "next direction method"),
        Binding(keys: [.char("0")], label: "0", action: .returnToOrigin, help: "back to z0"),
        Binding(keys: [.char("r")], label: "r", action: .newOrigin, help: "draw a new z0 (next seed; through DRS when calibrated)"),
        Binding(keys: [.char(" ")], label: "space", action: .togglePlay, help: "play / pause the walk"),
        Binding(keys: [.char("n")], label: "n", action: .nameDirection, help: "name the direction"),
        Binding(keys: [.char("t")], label: "t", action: .setTruncation, help: "truncation ψ for new z0"),
        Binding(keys: [.char("u")], label: "u", action: .undo, help: "undo the last change"),
        Binding(keys: [.char("w")], label: "w", action: .writeLatent, help: "write z as .npy"),
        Binding(keys: [.char("e")], label: "e", action: .exportWalk, help: "export the walk's frames"),
        Binding(keys: [.char("s")], label: "s", action: .saveFrame, help: "save the current frame"),
        Binding(keys: [.char("g")], label: "g", action: .writeContactSheet, help: "write a contact sheet"),
        Binding(keys: [.char("c")], label: "c", action: .toggleCompare, help: "compare the three walks"),
        Binding(keys: [.char("?")], label: "?", action: .toggleHelp, help: "this help"),
        Binding(keys: [.char("q"), .escape], label: "q Esc", action: .quit, help: "quit"),
        Binding(keys: [.resize], label: "", action: .resize, help: ""),
    ])

    /// The action bound to `key` in browsing mode, if any.
    public func action(for key: Key) -> Action? { table[key] }

    /// The action for `key` given whether the text field is open: while it
    /// is, typed characters edit it, Enter commits, Esc cancels (instead of
    /// quitting), and every other binding is off.
    public func action(for key: Key, editingText: Bool) -> Action? {
        editingText ? KeyMap.textAction(for: key) : action(for: key)
    }

    /// Text-field keys: Backspace arrives as KEY_BACKSPACE, DEL (127) or ^H
    /// depending on the terminal; Enter as LF, CR or KEY_ENTER.
    public static func textAction(for key: Key) -> Action? {
        switch key {
        case .resize: return .resize
        case .backspace, .character("\u{7F}"), .character("\u{08}"): return .text(.deleteBackward)
        case .enter, .character("\n"), .character("\r"): return .text(.commit)
        case .escape: return .text(.cancel)
        case .character(let s) where s.value >= 0x20 && !(0x7F...0x9F).contains(s.value): return .text(.insert(Character(s)))
        default: return nil
        }
    }

    /// Rows for the help box: (keys, what they do).
    public var helpRows: [(keys: String, help: String)] {
        bindings.filter { !$0.label.isEmpty }.map { ($0.label, $0.help) }
    }
}
