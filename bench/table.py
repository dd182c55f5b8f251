"""How the bench prints: one table printer and the number formats every section uses."""


def log(text=""):
    print(text, flush=True)


def fmt_s(seconds):
    return f"{seconds:,.2f} s"


def fmt_ms(ms):
    return f"{ms:,.2f} ms"


def runs_text(values):
    """``[26, 25, 25, 25]`` -> ``"26, 25 x3"``."""
    parts = []
    for value in values:
        if parts and parts[-1][0] == value:
            parts[-1][1] += 1
        else:
            parts.append([value, 1])
    return ", ".join(f"{v}" if c == 1 else f"{v} x{c}" for v, c in parts) or "-"


def table(rows, headers):
    """The rows under their headers: the first column left-aligned, the others right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    out = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    for row in rows:
        cells = []
        for i, (cell, width) in enumerate(zip(row, widths, strict=True)):
            cells.append(str(cell).ljust(width) if i == 0 else str(cell).rjust(width))
        out.append("  ".join(cells))
    return "\n".join(out)
