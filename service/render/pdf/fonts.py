"""WeasyPrint's font configuration, registering the house style's faces where they lie.

For every ``@font-face`` WeasyPrint reads the whole file through the URL fetcher and writes a
copy into a temporary folder, which it then hands to fontconfig. With the fallback faces (Noto
Serif/Sans CJK SC and LXGW WenKai, 16–25 MB each) that is 125 MB read and written again when
a worker compiles its first stylesheet: ~200 ms, and the copies' pages in the page cache. A face
our :class:`~.fetcher.ClosedURLFetcher` serves is a regular file under ``fonts/`` already, so
:class:`InPlaceFontConfiguration` gives fontconfig that file, with the family and weight of the
rule, as WeasyPrint's own code does for its copy. Fontconfig reads (and FreeType maps) the file
itself; nothing is copied.

Written here rather than taken from WeasyPrint because WeasyPrint has no way to register a
font file without copying it. Only rules that say nothing but ``font-family``, one ``src:
url()``, ``font-weight`` and ``font-style`` (the only ones ``document.css.j2`` writes) are
handled here; any other rule, and any URL the fetcher refuses, goes to WeasyPrint's code, which
fails as before (the refusal becomes a :class:`~service.errors.RenderFailed`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from xml.etree.ElementTree import Element, SubElement, tostring

from weasyprint.logger import LOGGER
from weasyprint.text.constants import FONTCONFIG_STYLE, FONTCONFIG_WEIGHT
from weasyprint.text.ffi import ffi, fontconfig, pangoft2
from weasyprint.text.fonts import FontConfiguration

from service.render.pdf.fetcher import ClosedURLFetcher, URLRefused

HANDLED_DESCRIPTORS: Final = frozenset({"font_family", "src", "font_weight", "font_style"})
"""The ``@font-face`` descriptors registered in place; a rule with any other goes to WeasyPrint."""

_FONTCONFIG_HEADER: Final = (
    b'<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n'
)


class InPlaceFontConfiguration(FontConfiguration):  # type: ignore[misc]  # no type hints
    """A :class:`FontConfiguration` that registers the fetcher's font files without a copy."""

    def __init__(self) -> None:
        super().__init__()
        self._in_place: set[tuple[str, str, object, object]] = set()

    def add_font_face(self, rule_descriptors: dict[str, Any], url_fetcher: Any) -> Any:
        path = _served_file(rule_descriptors, url_fetcher)
        if path is None:
            return super().add_font_face(rule_descriptors, url_fetcher)
        family = rule_descriptors["font_family"]
        weight = rule_descriptors.get("font_weight")
        style = rule_descriptors.get("font_style")
        key = (family, str(path), weight, style)
        if key in self._in_place:
            return None
        fontconfig.FcConfigParseAndLoadFromMemory(
            self._config, fontconfig_rules(path, family, weight, style), True
        )
        if not fontconfig.FcConfigAppFontAddFile(self._config, str(path).encode()):
            LOGGER.warning("Font-face %r cannot be loaded", family)
            return None
        self._in_place.add(key)
        return pangoft2.pango_fc_font_map_config_changed(
            ffi.cast("PangoFcFontMap *", self.font_map)
        )


def fontconfig_rules(path: Path, family: str, weight: object, style: object) -> bytes:
    """Fontconfig rules giving the font file at ``path``, when scanned, the family ``family``
    first (prepended, as WeasyPrint does: replacing the family breaks Pango) and the rule's
    weight and style."""
    root = Element("fontconfig")
    match = SubElement(root, "match", target="scan")
    test = SubElement(match, "test", name="file", compare="eq")
    SubElement(test, "string").text = path.as_posix()
    edit = SubElement(match, "edit", name="family", mode="prepend")
    SubElement(edit, "string").text = family
    if style is not None:
        edit = SubElement(match, "edit", name="slant", mode="assign_replace")
        SubElement(edit, "const").text = FONTCONFIG_STYLE[style]
    if weight is not None:
        edit = SubElement(match, "edit", name="weight", mode="assign_replace")
        SubElement(edit, "int").text = str(FONTCONFIG_WEIGHT[weight])
    body: bytes = tostring(root, encoding="utf-8")
    return _FONTCONFIG_HEADER + body


def _served_file(rule_descriptors: dict[str, Any], url_fetcher: Any) -> Path | None:
    """The file of a rule this module registers in place, or None for WeasyPrint's code."""
    if not isinstance(url_fetcher, ClosedURLFetcher):
        return None
    if not set(rule_descriptors) <= HANDLED_DESCRIPTORS:
        return None
    sources = rule_descriptors.get("src", ())
    if len(sources) != 1 or sources[0][0] != "external" or not sources[0][1]:
        return None
    try:
        return url_fetcher.resolve(sources[0][1])
    except URLRefused:
        return None
