#!/usr/bin/env python3
"""Render a terminal capture with ANSI colours (`tmux capture-pane -p -e`) to a PNG.

    tmux capture-pane -p -e -t SESSION > screen.ans
    python3 scripts/ansi_to_png.py screen.ans -o assets/browser.png

Each character cell becomes a CELL_W x CELL_H block. Half-block and other
block-element cells (the browser's pixels and sparklines) and box-drawing
lines are drawn as exact rectangles, not font glyphs, so images come out as
the terminal shows them; text goes through a monospace TrueType font
(DejaVu Sans Mono when installed, else Pillow's built-in font).

Understands SGR: reset, bold, dim, reverse, 30-37/40-47/90-97/100-107,
39/49, 38;5;n / 48;5;n (xterm 256 palette), 38;2;r;g;b / 48;2;r;g;b.
Other escape sequences are skipped. Needs Pillow (e.g. /work/venv-img).
"""
import argparse
import os
import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

# xterm's default 16 colours.
BASE16 = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255),
    (255, 255, 255),
]


def palette256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        levels = [0, 95, 135, 175, 215, 255]
        return levels[n // 36], levels[(n // 6) % 6], levels[n % 6]
    v = 8 + 10 * (n - 232)
    return v, v, v


class Style:
    def __init__(self):
        self.fg = None  # None: the terminal's default
        self.bg = None
        self.bold = False
        self.dim = False
        self.reverse = False

    def copy(self):
        s = Style()
        s.fg, s.bg, s.bold, s.dim, s.reverse = self.fg, self.bg, self.bold, self.dim, self.reverse
        return s


def apply_sgr(style, params):
    """Updates `style` with one SGR sequence's parameters."""
    p = [int(x) if x else 0 for x in params.replace(":", ";").split(";")] if params else [0]
    i = 0
    while i < len(p):
        c = p[i]
        if c == 0:
            style.__init__()
        elif c == 1:
            style.bold = True
        elif c == 2:
            style.dim = True
        elif c == 22:
            style.bold = style.dim = False
        elif c == 7:
            style.reverse = True
        elif c == 27:
            style.reverse = False
        elif 30 <= c <= 37:
            style.fg = BASE16[c - 30]
        elif 90 <= c <= 97:
            style.fg = BASE16[c - 90 + 8]
        elif 40 <= c <= 47:
            style.bg = BASE16[c - 40]
        elif 100 <= c <= 107:
            style.bg = BASE16[c - 100 + 8]
        elif c == 39:
            style.fg = None
        elif c == 49:
            style.bg = None
        elif c in (38, 48) and i + 1 < len(p):
            if p[i + 1] == 5 and i + 2 < len(p):
                color = palette256(p[i + 2])
                i += 2
            elif p[i + 1] == 2 and i + 4 < len(p):
                color = tuple(p[i + 2:i + 5])
                i += 4
            else:
                color = None
                i += 1
            if c == 38:
                style.fg = color
            else:
                style.bg = color
        i += 1


ESCAPE = re.compile(r"\x1b(\[[0-9;:?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def parse(text):
    """Rows of (char, style) cells; a wide character is followed by None."""
    rows, row, style = [], [], Style()
    pos = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "\x1b":
            m = ESCAPE.match(text, pos)
            if m:
                seq = m.group(1)
                if seq.startswith("[") and seq.endswith("m"):
                    apply_sgr(style, seq[1:-1])
                pos = m.end()
                continue
            pos += 1
            continue
        if ch == "\n":
            rows.append(row)
            row = []
        elif ch >= " ":
            row.append((ch, style.copy()))
            if unicodedata.east_asian_width(ch) in ("W", "F"):
                row.append(None)
        pos += 1
    if row:
        rows.append(row)
    return rows


def mix(a, b, t):
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


LIGHT = {  # box drawing: (up, down, left, right)
    "─": (0, 0, 1, 1), "│": (1, 1, 0, 0), "┌": (0, 1, 0, 1), "┐": (0, 1, 1, 0), "└": (1, 0, 0, 1),
    "┘": (1, 0, 1, 0), "├": (1, 1, 0, 1), "┤": (1, 1, 1, 0), "┬": (0, 1, 1, 1), "┴": (1, 0, 1, 1),
    "┼": (1, 1, 1, 1),
}
LOWER = {"▁": 1, "▂": 2, "▃": 3, "▄": 4, "▅": 5, "▆": 6, "▇": 7, "█": 8}
SHADES = {"░": 0.25, "▒": 0.5, "▓": 0.75}


def load_font(path, size, bold):
    candidates = [path] if path else []
    base = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono"
    candidates += [base + ("-Bold.ttf" if bold else ".ttf"), base + ".ttf"]
    for c in candidates:
        if c and os.path.exists(c):
            return ImageFont.truetype(c, size)
    return ImageFont.load_default()


def render(rows, cols, cell_w, cell_h, default_fg, default_bg, font_path, padding):
    n_rows = len(rows)
    width, height = cols * cell_w + 2 * padding, n_rows * cell_h + 2 * padding
    image = Image.new("RGB", (width, height), default_bg)
    draw = ImageDraw.Draw(image)
    size = int(cell_h * 0.72)
    fonts = {False: load_font(font_path, size, False), True: load_font(font_path, size, True)}
    line = max(1, cell_w // 8)
    for y, row in enumerate(rows):
        for x, cell in enumerate(row[:cols]):
            if cell is None:
                continue
            ch, st = cell
            fg = st.fg or default_fg
            bg = st.bg or default_bg
            if st.reverse:
                fg, bg = bg, fg
            if st.dim:
                fg = mix(fg, bg, 0.45)
            x0, y0 = padding + x * cell_w, padding + y * cell_h
            x1, y1 = x0 + cell_w, y0 + cell_h
            draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=bg)
            if ch == " ":
                continue
            if ch == "▀":
                draw.rectangle([x0, y0, x1 - 1, y0 + cell_h // 2 - 1], fill=fg)
            elif ch in LOWER:
                top = y1 - (cell_h * LOWER[ch]) // 8
                draw.rectangle([x0, top, x1 - 1, y1 - 1], fill=fg)
            elif ch in SHADES:
                draw.rectangle([x0, y0, x1 - 1, y1 - 1], fill=mix(bg, fg, SHADES[ch]))
            elif ch in LIGHT:
                up, down, left, right = LIGHT[ch]
                cx, cy = x0 + cell_w // 2, y0 + cell_h // 2
                h0, h1 = cy - line // 2, cy - line // 2 + line - 1
                v0, v1 = cx - line // 2, cx - line // 2 + line - 1
                if left:
                    draw.rectangle([x0, h0, v1, h1], fill=fg)
                if right:
                    draw.rectangle([v0, h0, x1 - 1, h1], fill=fg)
                if up:
                    draw.rectangle([v0, y0, v1, h1], fill=fg)
                if down:
                    draw.rectangle([v0, h0, v1, y1 - 1], fill=fg)
            else:
                font = fonts[st.bold]
                wide = x + 1 < len(row) and row[x + 1] is None
                box = draw.textbbox((0, 0), ch, font=font)
                gx = x0 + ((2 if wide else 1) * cell_w - (box[2] - box[0])) // 2 - box[0]
                gy = y0 + (cell_h - size) // 2 - 1
                draw.text((gx, gy), ch, font=font, fill=fg)
    return image


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", help="capture file (ANSI); - for standard input")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--cols", type=int, help="columns (default: the widest row)")
    ap.add_argument("--cell", default="10x20", help="cell size WxH in pixels (default 10x20)")
    ap.add_argument("--fg", default="#d0d0d0", help="default foreground")
    ap.add_argument("--bg", default="#121212", help="default background")
    ap.add_argument("--font", help="a monospace .ttf (default: DejaVu Sans Mono)")
    ap.add_argument("--padding", type=int, default=12)
    args = ap.parse_args()

    text = sys.stdin.read() if args.input == "-" else open(args.input, encoding="utf-8").read()
    rows = parse(text)
    while rows and not rows[-1]:
        rows.pop()
    cols = args.cols or max((len(r) for r in rows), default=1)
    w, h = (int(v) for v in args.cell.lower().split("x"))

    def color(s):
        s = s.lstrip("#")
        return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))

    image = render(rows, cols, w, h, color(args.fg), color(args.bg), args.font, args.padding)
    image.save(args.output, optimize=True)
    print(f"wrote {args.output} ({image.width}x{image.height}, {len(rows)} rows x {cols} columns)")


if __name__ == "__main__":
    main()
