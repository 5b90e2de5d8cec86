"""Server-side SVG charts: horizontal bars and the calibration curve. No JavaScript, no CDN."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

BAR = "#2563eb"
MUTED = "#9ca3af"
WIDTH = 520
LABEL_W = 190
ROW_H = 24


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def bar_chart(
    title: str, items: Sequence[tuple[str, float]], *, suffix: str = "", color: str = BAR, value_labels: bool = True
) -> SafeString:
    """One bar per (label, value); the accessible name and a <title> per bar say the numbers."""
    height = max(1, len(items)) * ROW_H + 8
    top = max((float(v) for _, v in items), default=0.0) or 1.0
    span = WIDTH - LABEL_W - 70
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    if not items:
        parts.append(f'<text x="0" y="18" fill="{MUTED}" font-size="13">No data for this period</text>')
    for i, (label, value) in enumerate(items):
        y = 4 + i * ROW_H
        w = max(1.0, float(value) / top * span) if value else 0.0
        text = f"{_fmt(float(value))}{suffix}"
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="#374151">'
            f"{escape(label if len(label) <= 28 else label[:27] + '…')}</text>"
        )
        parts.append(
            f'<rect class="bar" x="{LABEL_W}" y="{y + 3}" width="{w:.1f}" height="{ROW_H - 8}" rx="2" fill="{color}">'
            f"<title>{escape(label)}: {escape(text)}</title></rect>"
        )
        if value_labels:
            parts.append(
                f'<text x="{LABEL_W + w + 6:.1f}" y="{y + 15}" font-size="12" fill="#111827">{escape(text)}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated string is escaped above


def column_chart(title: str, items: Sequence[tuple[str, float]], *, color: str = BAR) -> SafeString:
    """Vertical bars over time (one per day); labels on the first, middle and last column."""
    height, bottom, left = 160, 22, 36
    n = max(1, len(items))
    span_w = WIDTH - left - 6
    col = span_w / n
    top = max((float(v) for _, v in items), default=0.0) or 1.0
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left - 4}" y="12" text-anchor="end" font-size="11" fill="{MUTED}">{_fmt(top)}</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}" stroke="{MUTED}"/>',
    ]
    plot_h = height - bottom - 8
    marks = {0, n // 2, n - 1}
    for i, (label, value) in enumerate(items):
        h = float(value) / top * plot_h
        x = left + i * col
        parts.append(
            f'<rect class="bar" x="{x + col * 0.1:.1f}" y="{height - bottom - h:.1f}" width="{max(col * 0.8, 1):.1f}" '
            f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: {_fmt(float(value))}</title></rect>'
        )
        if i in marks:
            parts.append(
                f'<text x="{x + col / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="10" fill="#374151">'
                f"{escape(label)}</text>"
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - escaped above


def calibration_chart(title: str, bins: Sequence[dict[str, float]]) -> SafeString:
    """Observed acceptance against stated confidence per bin; the diagonal is perfect calibration."""
    size, pad = 220, 30
    plot = size - 2 * pad

    def xy(conf: float, acc: float) -> tuple[float, float]:
        return pad + conf * plot, size - pad - acc * plot

    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {size} {size}" width="{size}" '
        f'height="{size}" xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect x="{pad}" y="{pad}" width="{plot}" height="{plot}" fill="none" stroke="{MUTED}"/>',
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="{MUTED}" stroke-dasharray="4 3"/>',
        f'<text x="{size / 2}" y="{size - 6}" text-anchor="middle" font-size="10">confidence</text>',
        f'<text x="10" y="{size / 2}" font-size="10" transform="rotate(-90 10 {size / 2})" '
        f'text-anchor="middle">accepted</text>',
    ]
    points = [xy(float(b.get("mean_confidence", 0)), float(b.get("accuracy", 0))) for b in bins if b.get("n", 1)]
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{BAR}" stroke-width="2"/>')
        for (x, y), b in zip(points, [b for b in bins if b.get("n", 1)], strict=True):
            parts.append(
                f'<circle class="bar" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{BAR}"><title>'
                f"{float(b.get('mean_confidence', 0)):.2f} → {float(b.get('accuracy', 0)):.2f} "
                f"(n={int(b.get('n', 0))})</title></circle>"
            )
    else:
        parts.append(
            f'<text x="{size / 2}" y="{size / 2}" text-anchor="middle" font-size="11" fill="{MUTED}">'
            "No calibration fitted yet</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - escaped above
