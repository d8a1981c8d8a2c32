/// What a key (or the app) asks the browser to do. Keys map to actions
/// through one table (`KeyMap`, htop's `Action.c` idea); `reduce` turns
/// actions into new states and says what the app must do next.
public enum Action: Equatable, Sendable {
    case stepForward, stepBackward
    case nextDirection, previousDirection
    case increaseStride, decreaseStride
    case cycleMode, cycleMethod
    case returnToOrigin, newOrigin
    case togglePlay
    case nameDirection, setTruncation
    case undo
    case writeLatent, exportWalk, saveFrame, writeContactSheet
    case toggleCompare, toggleHelp
    case quit
    case resize
    /// Editing the one-line text field (direction name, ψ).
    case text(TextEdit)
    /// The animation timer fired (sent by the app while `playing`).
    case tick
    /// The app reports something for the status line: a path written, an
    /// error. Goes through `reduce` so the state has one way to change.
    case show(String)
}

/// Keys of the text field: typed characters and the three editing keys.
public enum TextEdit: Equatable, Sendable {
    case insert(Character)
    case deleteBackward
    case commit
    case cancel
}

/// A key as `wget_wch` delivers it: a typed character (including Esc = 27,
/// Enter, Tab), or an ncurses function-key code (`KEY_UP`, `KEY_RESIZE`…,
/// returned with `KEY_CODE_YES`). Two cases, because the code ranges
/// overlap: `KEY_DOWN` is 258 and so is the scalar U+0102 (Ă), which a
/// direction name may contain.
public enum Key: Hashable, Sendable {
    case character(Unicode.Scalar)
    case code(Int32)

    // ncurses key codes (curses.h; octal there), named so tests and the map
    // need no C import.
    public static let down = Key.code(0o402)
    public static let up = Key.code(0o403)
    public static let left = Key.code(0o404)
    public static let right = Key.code(0o405)
    public static let backspace = Key.code(0o407)
    public static let enter = Key.code(0o527)
    public static let resize = Key.code(0o632)
    public static let escape = Key.character("\u{1B}")

    /// A typed character.
    public static func char(_ c: Character) -> Key { .character(c.unicodeScalars.first!) }
}
