// Swift 6 rejects ncurses' global `curscr` as shared mutable state; this
// file alone imports the module with @preconcurrency to read it. All
// ncurses calls happen on one thread (see NcursesScreen).
@preconcurrency import CNcurses

/// ncurses' `curscr`: its record of what the terminal shows now (set by
/// `set_term` for the current screen).
func latentCurrentScreen() -> UnsafeMutablePointer<WINDOW>? { curscr }
