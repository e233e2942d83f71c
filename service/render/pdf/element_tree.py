"""The writer's HTML as the element tree WeasyPrint's HTML5 parser builds, parsed by expat.

WeasyPrint parses HTML with tinyhtml5, in pure Python: ~5 % of a document's render. The HTML of
``templates/pdf/document.html.j2`` is XML but for its void elements (``<meta>``, ``<col>``,
``<img>``), so expat (C) reads it once they are closed, and two rules of HTML5's tree
construction that differ from XML's are then applied: whitespace between ``<html>`` and
``<head>`` is dropped, and whitespace after ``</body>`` (or ``</html>``) goes at the end of the
body. Line breaks and tabs in attribute values are written as character references first, as
XML would otherwise turn them into spaces (HTML keeps them); ``<`` and ``>`` are only ever
markup here, since autoescaping writes a text's as ``&lt;`` and ``&gt;``.

Markup expat refuses (a control character of a payload's text, say) gives ``None``: the caller
lets tinyhtml5 parse it. ``tests/render/test_element_tree.py`` holds the two trees equal, and
the PDFs byte-identical, for every example and bench payload.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

_VOID_ELEMENT = re.compile(r"<(meta|col|img)\b([^>]*)>")
"""The void elements the template writes (HTML's others would need adding here)."""
_TAG_WITH_BREAK = re.compile(r"<[^<>\t\n]*[\t\n][^<>]*>")
"""A tag with a line break or tab: in an attribute value, as the template breaks no tag (and a
break between attributes would become a reference expat refuses)."""
_HTML_WHITESPACE = "\t\n\f\r "
_BREAK_REFERENCES = str.maketrans({"\t": "&#9;", "\n": "&#10;"})


def html_tree(html_text: str) -> ET.Element | None:
    """The ``<html>`` element tinyhtml5 parses ``html_text`` into (``namespace_html_elements``
    off), or ``None`` when expat cannot read it."""
    text = html_text.replace("\r\n", "\n").replace("\r", "\n")  # HTML's input stream does so
    text = _TAG_WITH_BREAK.sub(lambda m: m[0].translate(_BREAK_REFERENCES), text)
    text = _VOID_ELEMENT.sub(r"<\1\2/>", text)
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    after_html = text[text.rfind("</html>") + len("</html>") :]
    if root.tag != "html" or [child.tag for child in root] != ["head", "body"]:
        return None
    if not _blank(root.text, root.tail, after_html):
        return None
    root.text = None
    body = root[1]
    after_body = (body.tail or "") + after_html
    body.tail = None
    if after_body:
        if len(body):
            body[-1].tail = (body[-1].tail or "") + after_body
        else:
            body.text = (body.text or "") + after_body
    return root


def _blank(*texts: str | None) -> bool:
    """Whether every text is empty or HTML whitespace (not ``str.isspace``'s: no U+3000)."""
    return all(not (text or "").strip(_HTML_WHITESPACE) for text in texts)
