/// What a key asks the browser to do. Keys map to actions through one table
/// (`KeyMap`); the state turns actions into new states.
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
}
