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
#include <pty.h>
#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
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

// A terminal opened with newterm on duplicates of the given descriptors
// (Swift 6 cannot read the C globals stdout/stdin, and tests drive a pty).
typedef struct {
    SCREEN *screen;
    FILE *out;
    FILE *in;
} latent_terminal;

static inline latent_terminal latent_open_terminal(const char *type, int outfd, int infd) {
    latent_terminal t = {0, 0, 0};
    int o = dup(outfd), i = dup(infd);
    if (o >= 0) t.out = fdopen(o, "w");
    if (i >= 0) t.in = fdopen(i, "r");
    if (t.out && t.in) t.screen = newterm(type, t.out, t.in);
    if (!t.screen) {
        if (t.out) fclose(t.out); else if (o >= 0) close(o);
        if (t.in) fclose(t.in); else if (i >= 0) close(i);
        t.out = t.in = 0;
    }
    return t;
}

static inline void latent_close_terminal(latent_terminal t) {
    if (t.screen) delscreen(t.screen);
    if (t.out) fclose(t.out);
    if (t.in) fclose(t.in);
}

// A pseudo-terminal pair of the given size, for driving a screen without a
// real terminal (tests). Swift's Glibc module hides posix_openpt; openpty is
// in libc since glibc 2.34.
static inline int latent_open_pty(int *master, int *slave, unsigned short rows, unsigned short cols) {
    struct winsize ws;
    memset(&ws, 0, sizeof ws);
    ws.ws_row = rows;
    ws.ws_col = cols;
    return openpty(master, slave, NULL, NULL, &ws);
}

// Terminal restore paths that do not depend on Swift code running: at exit,
// and on SIGINT/SIGTERM (exit status 128 + signal, so 130 after Ctrl-C).
// endwin is not async-signal-safe; restoring the terminal is worth that risk,
// and the handler never returns into the interrupted code.
static void latent_restore_at_exit(void) {
    if (!isendwin()) endwin();
}
static void latent_restore_on_signal(int sig) {
    endwin();
    _exit(128 + sig);
}
static inline void latent_install_restore_handlers(void) {
    static int installed = 0;
    if (installed) return;
    installed = 1;
    atexit(latent_restore_at_exit);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = latent_restore_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

// Writes one cell: `text` (a NUL-terminated wide string of one spacing
// character plus any combining ones) with attributes and an extended pair
// id, which setcchar takes through its opts pointer (ids >= 32768 do not
// fit the short argument).
static inline int latent_put_cell(WINDOW *win, int y, int x, const wchar_t *text, attr_t attrs, int pair) {
    cchar_t cell;
    if (setcchar(&cell, text, attrs, 0, &pair) == ERR) return ERR;
    return mvwadd_wch(win, y, x, &cell);
}
#endif
