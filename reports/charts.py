"""Bar charts drawn on the server as SVG: no script, nothing fetched, readable at 390 px
(the picture scales to its column through its viewBox; the numbers are in the table
beside it). Values are integers (paise or counts); only the geometry is fractional."""

from django.utils.html import format_html
from django.utils.safestring import mark_safe

from core.templatetags.money import rupees

WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 8, 8, 18, 34
SERIES_CLASSES = ("bar", "bar second", "bar third", "bar fourth", "bar fifth")


def label_of(value: int, money: bool) -> str:
    return rupees(value) if money else f"{value:,}"


def short_label(label: str, index: int) -> str:
    """ "Nov 26" -> "Nov" under a bar; the year stays on the first bar and on January."""
    return label if index == 0 or label.startswith("Jan") or " " not in label else label.split()[0]


def bar_chart(title: str, labels: list[str], series: list[tuple[str, list[int]]], *, money=False, stacked=True):
    """An SVG of one bar per label: the series stacked (or side by side when not
    `stacked`). Negative values are drawn below the zero line."""
    count = max(len(labels), 1)
    if stacked:
        highs = [sum(max(values[i], 0) for _, values in series) for i in range(len(labels))]
        lows = [sum(min(values[i], 0) for _, values in series) for i in range(len(labels))]
    else:
        highs = [max([0, *(values[i] for _, values in series)]) for i in range(len(labels))]
        lows = [min([0, *(values[i] for _, values in series)]) for i in range(len(labels))]
    top, bottom = max([0, *highs]), min([0, *lows])
    span = (top - bottom) or 1
    plot_height = HEIGHT - TOP - BOTTOM
    zero_y = TOP + plot_height * top / span
    slot = (WIDTH - LEFT - RIGHT) / count
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
            'xmlns="http://www.w3.org/2000/svg"><title>{}</title>',
            WIDTH,
            HEIGHT,
            title,
            title,
        ),
        format_html('<text x="{}" y="12">max {}</text>', LEFT, label_of(top, money)),
    ]
    for index, label in enumerate(labels):
        x = LEFT + slot * index
        up, down = zero_y, zero_y
        for number, (name, values) in enumerate(series):
            value = values[index]
            height = plot_height * abs(value) / span
            css = SERIES_CLASSES[number % len(SERIES_CLASSES)]
            if stacked:
                bar_x, bar_width = x + slot * 0.15, slot * 0.7
                if value >= 0:
                    up -= height
                    y = up
                else:
                    y = down
                    down += height
            else:
                bar_width = slot * 0.8 / len(series)
                bar_x = x + slot * 0.1 + bar_width * number
                y = zero_y - height if value >= 0 else zero_y
            parts.append(
                format_html(
                    '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{} {}: {}</title></rect>',
                    css,
                    f"{bar_x:.1f}",
                    f"{y:.1f}",
                    f"{bar_width:.1f}",
                    f"{height:.1f}",
                    label,
                    name,
                    label_of(value, money),
                )
            )
        if count <= 12 or index % 2 == 0:
            parts.append(
                format_html(
                    '<text x="{}" y="{}" text-anchor="middle">{}</text>',
                    f"{x + slot / 2:.1f}",
                    HEIGHT - BOTTOM + 14,
                    short_label(label, index),
                )
            )
    parts.append(
        format_html(
            '<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>',
            LEFT,
            WIDTH - RIGHT,
            f"{zero_y:.1f}",
            f"{zero_y:.1f}",
        )
    )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(str(part) for part in parts))


def legend(series_names: list[str]):
    items = [
        format_html('<span class="{}" aria-hidden="true"></span>{}', f"key {css.split()[-1]}", name)
        for name, css in zip(series_names, SERIES_CLASSES, strict=False)
    ]
    return mark_safe('<p class="legend">' + " ".join(str(item) for item in items) + "</p>") if len(items) > 1 else ""
