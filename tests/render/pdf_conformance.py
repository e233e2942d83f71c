"""Checks of the PDF/A-3b and PDF/UA-1 clauses that matter for our documents, with pikepdf.

veraPDF cannot run here; these read the same objects it would for the clauses listed in
``docs/pdf-archival.md`` (each check names its clause). :func:`archival_problems` returns every
failure as text, so a test shows them all at once; :func:`reading_order` walks the structure tree
as a screen reader does.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pikepdf

from service.formats import SIGNATURE_DESTINATION

PDFAID = "http://www.aiim.org/pdfa/ns/id/"
PDFUAID = "http://www.aiim.org/pdfua/ns/id/"
STANDARD_TYPES = {
    "Document", "Part", "Art", "Sect", "Div", "BlockQuote", "Caption", "TOC", "TOCI", "Index",
    "NonStruct", "Private", "P", "H", "H1", "H2", "H3", "H4", "H5", "H6", "L", "LI", "Lbl",
    "LBody", "Table", "TR", "TH", "TD", "THead", "TBody", "TFoot", "Span", "Quote", "Note",
    "Reference", "BibEntry", "Code", "Link", "Annot", "Ruby", "RB", "RT", "RP", "Warichu",
    "WT", "WP", "Figure", "Formula", "Form",
}  # fmt: skip


def archival_problems(data: bytes) -> list[str]:
    """Every PDF/A-3b and PDF/UA-1 clause of docs/pdf-archival.md that ``data`` fails."""
    problems: list[str] = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for check in (_header, _trailer, _xmp, _output_intent, _fonts, _attachments,
                      _forbidden, _ua_catalog, _structure, _marked_content,
                      _annotations):  # fmt: skip
            problems += [f"{check.__name__[1:]}: {p}" for p in check(pdf, data)]
    return problems


def _header(pdf: Any, data: bytes) -> Iterator[str]:
    # PDF/A-3 6.1.2: %PDF-1.n header, then a comment of four bytes above 127.
    if not re.match(rb"%PDF-1\.[0-7]\r?\n%[\x80-\xff]{4}", data):
        yield "6.1.2 header and binary comment"
    # 6.1.3: no data after the last %%EOF but an end of line.
    if data.rstrip(b"\r\n")[-5:] != b"%%EOF":
        yield "6.1.3 data after %%EOF"


def _trailer(pdf: Any, data: bytes) -> Iterator[str]:
    # 6.1.3: file identifier; 6.1.3/ISO 32000 7.6: no encryption.
    ids = pdf.trailer.get("/ID")
    if ids is None or len(ids) != 2 or not bytes(ids[0]):
        yield "6.1.3 trailer /ID"
    if "/Encrypt" in pdf.trailer:
        yield "6.1.3 encrypted"


def _xmp(pdf: Any, data: bytes) -> Iterator[str]:
    # 6.6.2.1: a Metadata stream; 6.6.4: pdfaid part 3, conformance B; PDF/UA-1 5: pdfuaid part 1.
    if "/Metadata" not in pdf.Root:
        yield "6.6.2.1 no XMP metadata"
        return
    meta = pdf.open_metadata()
    if meta.get(f"{{{PDFAID}}}part") != "3" or meta.get(f"{{{PDFAID}}}conformance") != "B":
        yield "6.6.4 pdfaid part 3 conformance B"
    if meta.get(f"{{{PDFUAID}}}part") != "1":
        yield "PDF/UA-1 5 pdfuaid:part 1"
    # 6.6.2.3.1: properties outside predefined schemas are declared in an extension schema.
    xml = bytes(pdf.Root.Metadata.read_bytes())
    if b"pdfuaid" in xml and PDFUAID.encode() not in xml.split(b"namespaceURI>")[1]:
        yield "6.6.2.3.1 pdfuaid without extension schema"
    # 6.6.3 / ISO 32000 14.3.3: Info entries equal to their XMP equivalents.
    info = pdf.docinfo
    pairs = {"/Title": "dc:title", "/Creator": "xmp:CreatorTool", "/Producer": "pdf:Producer",
             "/Keywords": "pdf:Keywords", "/Subject": "dc:description"}  # fmt: skip
    for key, prop in pairs.items():
        if key in info and str(info[key]) != str(meta.get(prop)):
            yield f"6.6.3 {key} {str(info[key])!r} != XMP {prop} {meta.get(prop)!r}"
    if "/Author" in info and str(info["/Author"]) != ", ".join(meta.get("dc:creator") or []):
        yield "6.6.3 /Author != dc:creator"
    if "/CreationDate" in info:
        pdf_date = str(info["/CreationDate"])[2:10]
        xmp_date = str(meta.get("xmp:CreateDate", "")).replace("-", "")[:8]
        if pdf_date != xmp_date:
            yield f"6.6.3 /CreationDate {pdf_date} != xmp:CreateDate {xmp_date}"


def _output_intent(pdf: Any, data: bytes) -> Iterator[str]:
    # 6.2.3: a GTS_PDFA1 output intent with an ICC profile (RGB for our DeviceRGB drawing).
    intents = pdf.Root.get("/OutputIntents") or []
    pdfa = [i for i in intents if i.get("/S") == "/GTS_PDFA1"]
    if len(pdfa) != 1 or "/DestOutputProfile" not in pdfa[0]:
        yield "6.2.3 GTS_PDFA1 output intent with profile"
        return
    profile = pdfa[0].DestOutputProfile
    head = profile.read_bytes()[:40]
    if int(profile.get("/N", 0)) != 3 or head[16:20] != b"RGB " or head[36:40] != b"acsp":
        yield "6.2.3 output profile is not an RGB ICC profile"


def _fonts(pdf: Any, data: bytes) -> Iterator[str]:
    # 6.2.11.4.1: every font embedded; 6.2.11.3.2: CIDToGIDMap for Type 2 CIDFonts;
    # 6.2.11.4.2: a CIDSet, if present, lists the subset's glyphs (we require none);
    # 6.2.11.6 / PDF/UA-1 7.21.7: text maps to Unicode (ToUnicode).
    for font in _fonts_of(pdf):
        name = str(font.get("/BaseFont"))
        if font.Subtype == "/Type0":
            if "/ToUnicode" not in font:
                yield f"6.2.11.6 {name} without ToUnicode"
            for descendant in font.DescendantFonts:
                descriptor = descendant.FontDescriptor
                if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    yield f"6.2.11.4.1 {name} not embedded"
                if descendant.Subtype == "/CIDFontType2" and "/CIDToGIDMap" not in descendant:
                    yield f"6.2.11.3.2 {name} without CIDToGIDMap"
                if "/CIDSet" in descriptor:
                    yield f"6.2.11.4.2 {name} has a CIDSet"
                # 6.2.11.3.1: with an Identity-H/V encoding any CIDSystemInfo will do (the
                # visible signature's subset keeps its font's Adobe-GB1); else it must be the
                # encoding CMap's.
                info = descendant.CIDSystemInfo
                encoding = font.get("/Encoding")
                if str(encoding) not in ("/Identity-H", "/Identity-V"):
                    cmap_info = encoding.get("/CIDSystemInfo") if encoding is not None else None
                    ros = (str(info.Registry), str(info.Ordering))
                    if cmap_info is None or ros != (
                        str(cmap_info.Registry),
                        str(cmap_info.Ordering),
                    ):
                        yield f"6.2.11.3.1 {name} CIDSystemInfo not its encoding's"
        else:
            yield f"fonts: unexpected simple font {name}"


def _fonts_of(pdf: Any) -> Iterator[Any]:
    """The fonts of every page and of every annotation's appearance (a visible signature's)."""
    seen: set[tuple[int, int]] = set()
    resources = []
    for page in pdf.pages:
        resources.append(page.Resources)
        for annotation in page.obj.get("/Annots") or []:
            appearance = (annotation.get("/AP") or {}).get("/N")
            if isinstance(appearance, pikepdf.Stream):
                resources += _xobject_resources(appearance)
    for found in resources:
        for font in (found.get("/Font") or {}).values():
            if font.objgen not in seen:
                seen.add(font.objgen)
                yield font


def _xobject_resources(xobject: Any) -> list[Any]:
    own = xobject.get("/Resources")
    if own is None:
        return []
    nested = [
        found
        for child in (own.get("/XObject") or {}).values()
        if child.get("/Subtype") == "/Form"
        for found in _xobject_resources(child)
    ]
    return [own, *nested]


def _annotations(pdf: Any, data: bytes) -> Iterator[str]:
    # PDF/A-3 6.3.2: every annotation printed (F Print set; Hidden, Invisible, NoView, ToggleNoView
    # clear); 6.3.3: a visible annotation's appearance is one normal (N) appearance stream;
    # PDF/UA-1 7.18.1/7.18.4: in a tagged PDF a visible annotation is in the structure tree (its
    # StructParent names an element of the tree; a widget's is a Form), a widget has a TU.
    root = pdf.Root.get("/StructTreeRoot")
    in_tree = {e.objgen: str(e.S) for e, _ in _elements(root)} if root is not None else {}
    parents = _number_tree(root.get("/ParentTree")) if root is not None else {}
    for number, page in enumerate(pdf.pages, 1):
        for annotation in page.obj.get("/Annots") or []:
            flags = int(annotation.get("/F", 0))
            if not flags & 4 or flags & (1 | 2 | 32 | 256):
                yield f"6.3.2 page {number} annotation flags {flags}"
            rect = [float(v) for v in annotation.get("/Rect", [0, 0, 0, 0])]
            visible = rect[2] > rect[0] and rect[3] > rect[1]
            appearance = annotation.get("/AP")
            if visible and (appearance is None or set(appearance.keys()) != {"/N"}):
                yield f"6.3.3 page {number} annotation appearance {appearance}"
            if root is None or not visible:
                continue
            element = parents.get(int(annotation.get("/StructParent", -1)))
            kind = in_tree.get(element.objgen) if element is not None else None
            widget = annotation.get("/Subtype") == "/Widget"
            if kind is None or (widget and kind != "/Form"):
                yield f"UA 7.18.1 page {number} annotation not in the structure tree ({kind})"
            if widget and not str(annotation.get("/TU", "")):
                yield f"UA 7.18.4 page {number} widget without TU"


def _attachments(pdf: Any, data: bytes) -> Iterator[str]:
    # PDF/A-3 6.8: each embedded file is an associated file (in /AF) with an AFRelationship,
    # a MIME Subtype, Params/ModDate and F and UF; payload.json is the Source, application/json.
    af = {spec.objgen for spec in pdf.Root.get("/AF") or []}
    files = dict(pdf.attachments.items())
    if "payload.json" not in files:
        yield "6.8 payload.json not attached"
    for name, spec in files.items():
        obj = spec.obj
        if obj.objgen not in af:
            yield f"6.8 {name} not in catalog /AF"
        if "/AFRelationship" not in obj or "/F" not in obj or "/UF" not in obj:
            yield f"6.8 {name} lacks AFRelationship, F or UF"
        stream = obj.EF.F
        if "/Subtype" not in stream or "/ModDate" not in stream.get("/Params", {}):
            yield f"6.8 {name} lacks MIME Subtype or Params/ModDate"
    if "payload.json" in files:
        obj = files["payload.json"].obj
        source = obj.get("/AFRelationship") == "/Source"
        if not source or str(obj.EF.F.Subtype) != "/application/json":
            yield "6.8 payload.json is not Source application/json"


def _forbidden(pdf: Any, data: bytes) -> Iterator[str]:
    # 6.6.1: no JavaScript, no forbidden actions; 6.1.7: no LZW; 6.2.10: no transparency
    # groups are used by our documents (not forbidden in A-3, but none expected).
    names = pdf.Root.get("/Names") or {}
    if "/JavaScript" in names or "/OpenAction" in pdf.Root or "/AA" in pdf.Root:
        yield "6.6.1 JavaScript or actions"
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Stream) and obj.get("/Filter") in ("/LZWDecode", "/Crypt"):
            yield "6.1.7 LZW or Crypt filter"
            break


def _ua_catalog(pdf: Any, data: bytes) -> Iterator[str]:
    # PDF/UA-1 7.1: Marked, a dc:title and DisplayDocTitle; 7.2: a natural language;
    # 7.18.3: Tabs /S on pages with annotations (WeasyPrint sets it on every page).
    if not bool((pdf.Root.get("/MarkInfo") or {}).get("/Marked", False)):
        yield "UA 7.1 MarkInfo Marked"
    if not bool((pdf.Root.get("/ViewerPreferences") or {}).get("/DisplayDocTitle", False)):
        yield "UA 7.1 DisplayDocTitle"
    if not pdf.open_metadata().get("dc:title"):
        yield "UA 7.1 no dc:title"
    if str(pdf.Root.get("/Lang", "")) != "zh-CN":
        yield "UA 7.2 Lang zh-CN"
    for number, page in enumerate(pdf.pages, 1):
        if page.get("/Tabs") != "/S":
            yield f"UA 7.18.3 page {number} Tabs /S"


def _structure(pdf: Any, data: bytes) -> Iterator[str]:
    # UA 7.1: a structure tree; every type standard or role-mapped; 7.4.2: headings not
    # skipping levels; 7.5: TH with Scope, TD Headers naming header IDs in the IDTree;
    # every marked-content id on a page reaches the tree through the ParentTree.
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        yield "UA 7.1 no StructTreeRoot"
        return
    role_map = root.get("/RoleMap") or {}
    ids = _id_tree(root)
    last_heading = 0
    for element, _depth in _elements(root):
        kind = str(element.S)[1:]
        if kind not in STANDARD_TYPES and f"/{kind}" not in role_map:
            yield f"UA 7.1 non-standard type {kind}"
        if re.fullmatch(r"H[1-6]", kind):
            level = int(kind[1])
            if level > last_heading + 1:
                yield f"UA 7.4.2 {kind} after H{last_heading}"
            last_heading = level
        if kind == "TH" and (element.get("/A") or {}).get("/Scope") not in ("/Column", "/Row"):
            yield "UA 7.5 TH without Scope"
        if kind == "TD":
            headers = [str(h) for h in (element.get("/A") or {}).get("/Headers") or []]
            if not headers or any(h not in ids for h in headers):
                yield f"UA 7.5 TD Headers {headers} not in IDTree"
    if last_heading == 0:
        yield "UA 7.4 no headings"


def _marked_content(pdf: Any, data: bytes) -> Iterator[str]:
    # UA 7.1: every piece of text on a page is either tagged (its marked-content id reaches an
    # element of the structure tree through the ParentTree) or an Artifact; the page numbers
    # are Pagination artifacts (an MCID left out of the tree is neither: WeasyPrint's default).
    root = pdf.Root.get("/StructTreeRoot")
    if root is None:
        return
    in_tree = {element.objgen for element, _ in _elements(root)}
    parents = _number_tree(root.get("/ParentTree"))
    for number, page in enumerate(pdf.pages, 1):
        mapped = parents.get(int(page.obj.get("/StructParents", -1)))
        for text, marks in _shown_texts(page):
            if any(tag == "Artifact" for tag, _, _ in marks):
                continue
            mcids = [mcid for _, mcid, _ in marks if mcid is not None]
            if not mcids:
                yield f"UA 7.1 page {number} text {text!r} neither tagged nor an artifact"
            elif mapped is None or mcids[-1] >= len(mapped):
                yield f"UA 7.1 page {number} MCID {mcids[-1]} not in the ParentTree"
            elif mapped[mcids[-1]].objgen not in in_tree:
                yield f"UA 7.1 page {number} text {text!r} tagged outside the structure tree"
    for number, texts in enumerate(artifact_texts(data), 1):
        if not any(re.search(r"\d", text) for kind, text in texts if kind == "Pagination"):
            yield f"UA 7.1 page {number} page number not a Pagination artifact"


def _number_tree(node: Any) -> dict[int, Any]:
    if node is None:
        return {}
    found: dict[int, Any] = {}
    nums = list(node.get("/Nums") or [])
    for i in range(0, len(nums) - 1, 2):
        found[int(nums[i])] = nums[i + 1]
    for kid in node.get("/Kids") or []:
        found.update(_number_tree(kid))
    return found


Mark = tuple[str, int | None, str]
"""A marked-content sequence: tag, MCID (or ``None``), and the ``Type`` of an Artifact."""


def _shown_texts(page: Any) -> Iterator[tuple[str, list[Mark]]]:
    """Each text-showing operator of ``page``'s content, decoded, with the marked-content
    sequences around it, outermost first."""
    maps = {name: _to_unicode(font) for name, font in (page.Resources.Font or {}).items()}
    stack: list[Mark] = []
    font = None
    for instruction in pikepdf.parse_content_stream(page):
        operands, op = list(instruction.operands), str(instruction.operator)
        if op in ("BDC", "BMC"):
            properties = operands[1] if op == "BDC" else None
            if not isinstance(properties, pikepdf.Dictionary):
                properties = pikepdf.Dictionary()
            mcid = properties.get("/MCID")
            kind = str(properties.get("/Type", "/")).lstrip("/")
            stack.append((str(operands[0])[1:], None if mcid is None else int(mcid), kind))
        elif op == "EMC":
            stack.pop()
        elif op == "Tf":
            font = str(operands[0])
        elif op in ("Tj", "TJ"):
            strings = operands[0] if op == "TJ" else [operands[0]]
            yield _decode(strings, maps.get(font, {})), list(stack)


def artifact_texts(data: bytes) -> list[list[tuple[str, str]]]:
    """Per page, ``(Artifact Type, text)`` of the text inside Artifact sequences, consecutive
    runs of one type joined."""
    out = []
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for page in pdf.pages:
            texts = [
                (next(kind for tag, _, kind in marks if tag == "Artifact"), text)
                for text, marks in _shown_texts(page)
                if any(tag == "Artifact" for tag, _, _ in marks)
            ]
            out.append(_join_runs(texts))
    return out


def _join_runs(texts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    joined: list[tuple[str, str]] = []
    for kind, text in texts:
        if joined and joined[-1][0] == kind:
            joined[-1] = (kind, joined[-1][1] + text)
        else:
            joined.append((kind, text))
    return joined


def _decode(strings: Any, cmap: dict[int, str]) -> str:
    text = ""
    for item in strings:
        if isinstance(item, pikepdf.String):
            raw = bytes(item)
            text += "".join(
                cmap.get(int.from_bytes(raw[i : i + 2], "big"), "") for i in range(0, len(raw), 2)
            )
    return text


def signature_destination(pdf: Any) -> tuple[int, str, list[float]]:
    """The page index, kind (``/FitR``) and rectangle of the ``signature`` named destination of
    an open pikepdf ``pdf``."""
    names = list(pdf.Root.Names.Dests.Names)
    keys = [str(name) for name in names[::2]]
    destination = names[2 * keys.index(SIGNATURE_DESTINATION) + 1]
    page = pdf.pages.index(pikepdf.Page(destination[0]))
    return page, str(destination[1]), [float(v) for v in destination[2:6]]


def _id_tree(root: Any) -> set[str]:
    tree = root.get("/IDTree")
    names = list(tree.get("/Names") or []) if tree is not None else []
    return {str(names[i]) for i in range(0, len(names), 2)}


def _elements(node: Any, depth: int = 0) -> Iterator[tuple[Any, int]]:
    kids = node.get("/K")
    if kids is None:
        return
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        element = isinstance(kid, pikepdf.Dictionary) and "/S" in kid
        if element and kid.get("/Type", "/StructElem") == "/StructElem":
            yield kid, depth
            yield from _elements(kid, depth + 1)


def reading_order(data: bytes) -> list[tuple[int, str, str]]:
    """``(depth, type, text)`` for every structure element but the text spans, in tree order,
    with the text of its marked content: what a screen reader walks."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        texts = _marked_texts(pdf)
        out = []
        for element, depth in _elements(pdf.Root.StructTreeRoot):
            kind = str(element.S)[1:]
            if kind == "Span":
                continue
            out.append((depth, kind, "".join(_text_of(element, texts))))
        return out


def _text_of(element: Any, texts: dict[tuple[Any, int], str]) -> Iterator[str]:
    kids = element.get("/K")
    for kid in kids if isinstance(kids, pikepdf.Array) else [kids]:
        if isinstance(kid, int):
            yield texts.get((element.Pg.objgen, int(kid)), "")
        elif isinstance(kid, pikepdf.Dictionary) and "/S" in kid and "/Pg" in kid:
            yield from _text_of(kid, texts)


def _marked_texts(pdf: Any) -> dict[tuple[Any, int], str]:
    """Text of each marked-content id per page, decoded through the fonts' ToUnicode maps."""
    texts: dict[tuple[Any, int], str] = {}
    for page in pdf.pages:
        maps = {name: _to_unicode(font) for name, font in (page.Resources.Font or {}).items()}
        mcid, font = None, None
        for instruction in pikepdf.parse_content_stream(page):
            operands, op = list(instruction.operands), str(instruction.operator)
            if op == "BDC" and isinstance(operands[1], pikepdf.Dictionary):
                mcid = int(operands[1].get("/MCID", -1))
            elif op == "EMC":
                mcid = None
            elif op == "Tf":
                font = str(operands[0])
            elif op in ("Tj", "TJ") and mcid is not None and font in maps:
                strings = operands[0] if op == "TJ" else [operands[0]]
                for item in strings:
                    if isinstance(item, pikepdf.String):
                        raw = bytes(item)
                        text = "".join(
                            maps[font].get(int.from_bytes(raw[i : i + 2], "big"), "")
                            for i in range(0, len(raw), 2)
                        )
                        key = (page.objgen, mcid)
                        texts[key] = texts.get(key, "") + text
    return texts


def _to_unicode(font: Any) -> dict[int, str]:
    cmap = font.ToUnicode.read_bytes().decode("latin-1")
    found = {}
    for glyph, text in re.findall(r"<([0-9a-fA-F]{4})>\s*<([0-9a-fA-F]+)>", cmap):
        found[int(glyph, 16)] = bytes.fromhex(text).decode("utf-16-be")
    return found
