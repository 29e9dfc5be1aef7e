"""Row labels for sample grids, drawn with a built-in 5x7 pixel font (no imaging library).

Only what class names need: upper-case letters, digits, space and `- / _ . ' ( ) &`; other
characters are drawn as a blank. Text is rendered upper-case.
"""

import numpy as np

# Each glyph: 7 rows of 5 bits (bit 4 = leftmost pixel).
_GLYPHS = {
    "A": (14, 17, 17, 31, 17, 17, 17), "B": (30, 17, 17, 30, 17, 17, 30),
    "C": (14, 17, 16, 16, 16, 17, 14), "D": (30, 17, 17, 17, 17, 17, 30),
    "E": (31, 16, 16, 30, 16, 16, 31), "F": (31, 16, 16, 30, 16, 16, 16),
    "G": (14, 17, 16, 23, 17, 17, 15), "H": (17, 17, 17, 31, 17, 17, 17),
    "I": (14, 4, 4, 4, 4, 4, 14), "J": (7, 2, 2, 2, 2, 18, 12),
    "K": (17, 18, 20, 24, 20, 18, 17), "L": (16, 16, 16, 16, 16, 16, 31),
    "M": (17, 27, 21, 21, 17, 17, 17), "N": (17, 17, 25, 21, 19, 17, 17),
    "O": (14, 17, 17, 17, 17, 17, 14), "P": (30, 17, 17, 30, 16, 16, 16),
    "Q": (14, 17, 17, 17, 21, 18, 13), "R": (30, 17, 17, 30, 20, 18, 17),
    "S": (15, 16, 16, 14, 1, 1, 30), "T": (31, 4, 4, 4, 4, 4, 4),
    "U": (17, 17, 17, 17, 17, 17, 14), "V": (17, 17, 17, 17, 17, 10, 4),
    "W": (17, 17, 17, 21, 21, 21, 10), "X": (17, 17, 10, 4, 10, 17, 17),
    "Y": (17, 17, 10, 4, 4, 4, 4), "Z": (31, 1, 2, 4, 8, 16, 31),
    "0": (14, 17, 19, 21, 25, 17, 14), "1": (4, 12, 4, 4, 4, 4, 14),
    "2": (14, 17, 1, 2, 4, 8, 31), "3": (31, 2, 4, 2, 1, 17, 14),
    "4": (2, 6, 10, 18, 31, 2, 2), "5": (31, 16, 30, 1, 1, 17, 14),
    "6": (6, 8, 16, 30, 17, 17, 14), "7": (31, 1, 2, 4, 8, 8, 8),
    "8": (14, 17, 17, 14, 17, 17, 14), "9": (14, 17, 17, 15, 1, 2, 12),
    "-": (0, 0, 0, 31, 0, 0, 0), "/": (1, 1, 2, 4, 8, 16, 16),
    "_": (0, 0, 0, 0, 0, 0, 31), ".": (0, 0, 0, 0, 0, 12, 12),
    "'": (4, 4, 8, 0, 0, 0, 0), "(": (2, 4, 8, 8, 8, 4, 2),
    ")": (8, 4, 2, 2, 2, 4, 8), "&": (12, 18, 20, 8, 21, 18, 13),
}
GLYPH_WIDTH, GLYPH_HEIGHT, ADVANCE = 5, 7, 6


def render(text, max_chars=None):
    """`text` as a bool mask `[7, 6 * len(text) - 1]` (True = ink)."""
    text = text.upper()[:max_chars]
    out = np.zeros([GLYPH_HEIGHT, max(ADVANCE * len(text) - 1, 1)], bool)
    for i, ch in enumerate(text):
        rows = _GLYPHS.get(ch)
        if rows is None:
            continue
        for y, bits in enumerate(rows):
            for x in range(GLYPH_WIDTH):
                out[y, i * ADVANCE + x] = bool(bits >> (GLYPH_WIDTH - 1 - x) & 1)
    return out


def label_rows(grid, labels, row_height, max_chars=14):
    """`grid` uint8 `[rows * row_height, W, C]` with a strip of row labels on its left.

    Each label is drawn in white on black, vertically centred on its row.
    """
    chars = min(max((len(t) for t in labels), default=0), max_chars)
    width = ADVANCE * chars + 3
    strip = np.zeros([grid.shape[0], width, grid.shape[2]], np.uint8)
    for r, text in enumerate(labels):
        mask = render(text, max_chars)
        top = r * row_height + max((row_height - GLYPH_HEIGHT) // 2, 0)
        h, w = min(GLYPH_HEIGHT, row_height), min(mask.shape[1], width - 2)
        strip[top:top + h, 2:2 + w][mask[:h, :w]] = 255
    return np.concatenate([strip, grid], axis=1)
