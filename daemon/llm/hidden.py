"""Hidden HTML text: what an HTML body carries that a person reading the mail never sees.

Decides when text counts as hidden: inside an element that is not displayed (`display:none`,
`visibility:hidden|collapse`, `mso-hide:all`, the `hidden` attribute), fully transparent
(`opacity` ≤ 0.1, a colour with alpha 0), too small to read (an inherited font size of 2px or
less), drawn in a colour too close to its background (WCAG contrast below 1.5: #fefefe on
white), moved off-screen (`left`/`top`/`text-indent`/`margin-left` of -500px or less, a
`translate` that far), or clipped away (`clip: rect(0…)`, a zero or 1px box with overflow
hidden, `transform: scale(0)`). Colours and sizes are read with tinycss2 (CSS Color 4: names,
hex, rgb(), hsl()); backgrounds come from `background(-color)` and `bgcolor`, inherited down.

The scan is one streaming pass: lxml's parser calls us per tag and per text chunk (no tree is
built, so 100k nested elements cost what 100k siblings do), each element's visibility is
worked out once from its parent's, and each string is attributed once to the element it is
in. The HTML read and the hidden text kept are both capped (`MAX_HTML_CHARS`,
`MAX_HIDDEN_CHARS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

import tinycss2  # type: ignore[import-untyped]
import tinycss2.color4  # type: ignore[import-untyped]
from lxml import etree  # type: ignore[import-untyped]

MAX_HTML_CHARS = 10_000_000
"""HTML read per part; the rest is not scanned (larger mail is cut at intake)."""
MAX_HIDDEN_CHARS = 20_000
"""Hidden text kept per message: enough to match injection patterns, bounded memory."""
MIN_CONTRAST = 1.5
"""WCAG contrast ratio below which text is unreadable on its background (black on white: 21)."""
TINY_PX = 2.0
OFF_SCREEN_PX = -500.0
NOT_RENDERED = frozenset(("script", "style", "head", "title", "template", "noscript", "object"))
INVISIBLE = re.compile(r"[\s\u00a0\u00ad\u034f\u200b-\u200f\u2060\ufeff]+")
RELEVANT = re.compile(
    r"display|visibility|mso-hide|opacity|font|color|background|position|left|top|right|"
    r"bottom|indent|margin|clip|height|width|overflow|transform",
    re.I,
)
KEYWORD_PX = {
    "xx-small": 9.0,
    "x-small": 10.0,
    "small": 13.0,
    "medium": 16.0,
    "large": 18.0,
    "x-large": 24.0,
    "xx-large": 32.0,
}
UNIT_PX = {"px": 1.0, "pt": 4 / 3, "pc": 16.0, "in": 96.0, "cm": 96 / 2.54, "mm": 96 / 25.4}

RGB = tuple[float, float, float]
WHITE: RGB = (1.0, 1.0, 1.0)
BLACK: RGB = (0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class Look:
    """How an element's text is drawn, as far as visibility goes (inherited values)."""

    hidden: str | None = None
    """Why everything inside is invisible (display:none, off-screen…), or None."""
    font_px: float = 16.0
    color: RGB = BLACK
    background: RGB = WHITE


@dataclass(frozen=True, slots=True)
class Style:
    """What one `style` attribute (plus the presentational attributes) changes."""

    hidden: str | None = None
    font_size: tuple[float, str] | None = None
    color: tuple[RGB, float] | None = None
    background: tuple[RGB, float] | None = None


class HiddenText:
    """An lxml parser target: collects the text of hidden elements in one pass."""

    def __init__(self) -> None:
        self.stack: list[Look] = [Look()]
        self.skip = 0
        self.found: list[str] = []
        self.size = 0
        self.reasons: dict[str, None] = {}

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if not isinstance(tag, str):
            tag = ""
        self.skip += tag in NOT_RENDERED or bool(self.skip)
        self.stack.append(child_look(self.stack[-1], tag.lower(), attrib))

    def end(self, tag: str) -> None:
        if len(self.stack) > 1:
            self.stack.pop()
        self.skip = max(self.skip - 1, 0) if self.skip else 0

    def data(self, text: str) -> None:
        if self.skip or self.size >= MAX_HIDDEN_CHARS:
            return
        why = text_hidden(self.stack[-1])
        if why is None or not INVISIBLE.sub("", text):
            return
        piece = INVISIBLE.sub(" ", text).strip()[: MAX_HIDDEN_CHARS - self.size]
        self.found.append(piece)
        self.size += len(piece) + 1
        self.reasons[why] = None

    def comment(self, text: str) -> None:
        return None

    def close(self) -> str:
        return " ".join(self.found)


def hidden_text(html: str) -> tuple[str, tuple[str, ...]]:
    """The hidden text of an HTML document and why it is hidden (display:none, 1px font…)."""
    target = HiddenText()
    parser = etree.HTMLParser(target=target, recover=True, no_network=True)
    try:
        parser.feed(html[:MAX_HTML_CHARS])
        text = parser.close()
    except (etree.LxmlError, ValueError):
        text = target.close()  # what was read before the parser gave up still counts
    return str(text), tuple(target.reasons)


def text_hidden(look: Look) -> str | None:
    """Why text drawn with `look` cannot be read, or None."""
    if look.hidden:
        return look.hidden
    if look.font_px <= TINY_PX:
        return f"font size {look.font_px:g}px"
    if contrast(look.color, look.background) < MIN_CONTRAST:
        return "text colour on a background of nearly the same colour"
    return None


def child_look(parent: Look, tag: str, attrib: Any) -> Look:
    """The look of an element from its parent's and its own attributes (no copy when the
    element changes nothing: a deep nest of plain spans costs no memory per level)."""
    style = attrib.get("style")
    extra = [k for k in ("hidden", "bgcolor", "color") if k in attrib]
    if not extra and not (style and RELEVANT.search(style)) and tag != "font":
        return parent
    own = read_style(str(style or ""))
    if "hidden" in attrib and tag not in ("input",):
        own = replace(own, hidden="the hidden attribute")
    if "bgcolor" in attrib and own.background is None:
        own = replace(own, background=parse_color(str(attrib["bgcolor"])))
    if tag == "font" and "color" in attrib and own.color is None:
        own = replace(own, color=parse_color(str(attrib["color"])))
    return apply_style(parent, own)


def apply_style(parent: Look, own: Style) -> Look:
    hidden = parent.hidden or own.hidden
    font_px = parent.font_px
    if own.font_size is not None:
        font_px = resolve_px(own.font_size, parent.font_px)
    color, background = parent.color, parent.background
    if own.color is not None:
        rgb, alpha = own.color
        if alpha <= 0.05:
            hidden = hidden or "transparent text colour"
        color = blend(rgb, alpha, parent.background)
    if own.background is not None:
        rgb, alpha = own.background
        background = blend(rgb, alpha, parent.background)
    return Look(hidden, font_px, color, background)


@lru_cache(maxsize=4096)
def read_style(style: str) -> Style:
    """The visibility-relevant declarations of a `style` attribute (cached: mail repeats the
    same few styles thousands of times)."""
    result = Style()
    if not style or not RELEVANT.search(style):
        return result
    declarations = tinycss2.parse_blocks_contents(style, skip_whitespace=True, skip_comments=True)
    values: dict[str, list[Any]] = {}
    for d in declarations:
        if d.type == "declaration":
            values[d.lower_name] = [t for t in d.value if t.type not in ("whitespace", "comment")]
    hidden = hidden_by(values)
    font = values.get("font-size")
    size = font_size(font[0]) if font else None
    color = color_of(values.get("color"))
    background = color_of(values.get("background-color")) or color_of(values.get("background"))
    return Style(hidden, size, color, background)


def hidden_by(values: dict[str, list[Any]]) -> str | None:
    """Why declarations hide an element's whole content (None: they do not)."""
    ident = {k: idents(v) for k, v in values.items()}
    if "none" in ident.get("display", ()):
        return "display:none"
    if ident.get("visibility", set()) & {"hidden", "collapse"}:
        return "visibility:hidden"
    if "all" in ident.get("mso-hide", ()):
        return "mso-hide:all"
    opacity = number(values.get("opacity"))
    if opacity is not None and opacity <= 0.1:
        return "opacity 0"
    return off_screen(values, ident) or clipped(values, ident)


def off_screen(values: dict[str, list[Any]], ident: dict[str, set[str]]) -> str | None:
    for key in ("left", "top", "right", "text-indent", "margin-left", "margin-top"):
        px = length(values.get(key))
        if px is not None and px <= OFF_SCREEN_PX:
            return f"moved off-screen ({key} {px:g}px)"
    for token in values.get("transform", ()):
        if token.type == "function" and token.lower_name.startswith("translate"):
            shifts = [length([a]) for a in token.arguments if a.type == "dimension"]
            if any(s is not None and s <= OFF_SCREEN_PX for s in shifts):
                return "moved off-screen (translate)"
    return None


def clipped(values: dict[str, list[Any]], ident: dict[str, set[str]]) -> str | None:
    for token in values.get("transform", ()):
        if token.type == "function" and token.lower_name in ("scale", "scalex", "scaley"):
            nums = [a.value for a in token.arguments if a.type == "number"]
            if nums and min(abs(n) for n in nums) <= 0.05:
                return "scaled to nothing"
    for token in values.get("clip", ()):
        if token.type == "function" and token.lower_name == "rect":
            sizes = [a.value for a in token.arguments if a.type in ("dimension", "number")]
            if sizes and max(abs(s) for s in sizes) <= 1:
                return "clipped away"
    if ident.get("overflow", set()) & {"hidden", "clip"}:
        for key in ("height", "width", "max-height", "max-width"):
            px = length(values.get(key))
            if px is not None and px <= 1:
                return f"{key} {px:g}px with overflow hidden"
    return None


def idents(tokens: list[Any]) -> set[str]:
    return {t.lower_value for t in tokens if t.type == "ident"}


def number(tokens: list[Any] | None) -> float | None:
    if not tokens:
        return None
    t = tokens[0]
    if t.type == "number":
        return float(t.value)
    if t.type == "percentage":
        return float(t.value) / 100
    return None


def length(tokens: list[Any] | None) -> float | None:
    """A length in px (em and % read against 16px), or None when it is not a length."""
    if not tokens:
        return None
    t = tokens[0]
    if t.type == "number" and t.value == 0:
        return 0.0
    if t.type == "dimension":
        unit = t.lower_unit
        if unit in UNIT_PX:
            return float(t.value) * UNIT_PX[unit]
        if unit in ("em", "rem", "ex", "ch"):
            return float(t.value) * 16.0
    return None


def font_size(token: Any) -> tuple[float, str] | None:
    """A font size as (value, unit): unit px, rel (a factor of the parent's) or None."""
    if token.type == "ident" and token.lower_value in KEYWORD_PX:
        return KEYWORD_PX[token.lower_value], "px"
    if token.type == "number" and token.value == 0:
        return 0.0, "px"
    if token.type == "percentage":
        return float(token.value) / 100, "rel"
    if token.type == "dimension":
        if token.lower_unit in ("em", "ex", "ch"):
            return float(token.value), "rel"
        if token.lower_unit == "rem":
            return float(token.value) * 16.0, "px"
        if token.lower_unit in UNIT_PX:
            return float(token.value) * UNIT_PX[token.lower_unit], "px"
        if token.lower_unit in ("vw", "vh", "vmin", "vmax"):
            return float(token.value) * 8.0, "px"  # of an 800px window, roughly
    return None


def resolve_px(size: tuple[float, str], parent_px: float) -> float:
    value, unit = size
    return value * parent_px if unit == "rel" else value


def color_of(tokens: list[Any] | None) -> tuple[RGB, float] | None:
    """The first colour among the tokens of a declaration (`background` lists several)."""
    for token in tokens or ():
        parsed = tinycss2.color4.parse_color(token)
        if parsed is not None and parsed != "currentcolor":
            r, g, b, alpha = parsed.to("srgb")
            return (clamp(r), clamp(g), clamp(b)), float(alpha)
    return None


def parse_color(text: str) -> tuple[RGB, float] | None:
    text = text.strip()
    if re.fullmatch(r"[0-9a-fA-F]{6}|[0-9a-fA-F]{3}", text):
        text = "#" + text  # bgcolor="ffffff" without the hash: browsers accept it
    tokens = tinycss2.parse_component_value_list(text, skip_comments=True)
    return color_of([t for t in tokens if t.type != "whitespace"])


def clamp(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)


def blend(rgb: RGB, alpha: float, under: RGB) -> RGB:
    a = clamp(alpha)
    r, g, b = (c * a + u * (1 - a) for c, u in zip(rgb, under, strict=True))
    return (r, g, b)


def luminance(rgb: RGB) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(fg: RGB, bg: RGB) -> float:
    """WCAG 2 contrast ratio, 1 (same colour) to 21 (black on white)."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)
