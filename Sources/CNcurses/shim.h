#ifndef LATENT_CNCURSES_SHIM_H
#define LATENT_CNCURSES_SHIM_H
// SwiftPM drops ncursesw.pc's -D flags; without these the wide-char API is hidden.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <langinfo.h>
#include <ncursesw/curses.h>

// Globals and macros Swift 6 cannot import or calls unsafe.
static inline WINDOW *latent_stdscr(void) { return stdscr; }
static inline int latent_colors(void) { return COLORS; }
static inline int latent_color_pairs(void) { return COLOR_PAIRS; }
static inline attr_t latent_a_bold(void) { return A_BOLD; }
static inline attr_t latent_a_reverse(void) { return A_REVERSE; }
static inline attr_t latent_a_dim(void) { return A_DIM; }
static inline attr_t latent_a_normal(void) { return A_NORMAL; }
static inline int latent_key_f(int n) { return KEY_F(n); }
#endif
