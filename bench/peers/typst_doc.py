"""Peer: Typst (the PyPI binding) compiling the same document: the speed limit of the field.

:func:`typst_source` writes a Typst document from Pilu's document model and house style: the
same title, lead, headings with their printed labels (一、（一）1.（1）), paragraphs, statistics
tables, notes and signature; the same page size and margins, the same faces from ``fonts/`` (no
system fonts), the same sizes and line pitch, and the page number ``— n —`` outside on odd and
even pages. Typst compiles it warm, in one :class:`typst.Compiler` kept for the whole run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FONTS = ROOT / "fonts"


def _s(text: str) -> str:
    """``text`` as a Typst string literal."""
    escaped = (
        text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def typst_faces() -> dict[str, tuple[str, int]]:
    """Font file name -> (Typst family, weight), as Typst itself reads ``fonts/``."""
    import typst

    fonts = typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(FONTS)]
    )
    return {Path(info.path).name: (info.family, info.weight) for info in fonts.fonts() if info.path}


def typst_source(document: Any, style: Any, faces: dict[str, tuple[str, int]]) -> str:
    from service.model.document import Heading, Paragraph
    from service.style.house_style import MM_PER_PT

    page = style.page

    def text_args(role: str) -> tuple[str, float, float]:
        """Typst ``text`` arguments of ``role``, its size and its line pitch (pt)."""
        family, weight = faces[style.face_of(role).path.name]
        size = style.role(role).size_pt
        return (
            f"font: {_s(family)}, weight: {weight}, size: {size}pt",
            size,
            style.line_pitch_of(role),
        )

    body_font, body_size, body_pitch = text_args("body")
    grid_pt = int(page.text_width_mm / MM_PER_PT / page.chars_per_line * 100) / 100
    tracking = grid_pt - body_size
    number = style.page_number
    before, _, after = number.format.partition("{n}")
    pn_font, pn_size, _ = text_args(number.role)
    inset = number.inset_chars * pn_size

    out: list[str] = [
        f"#set document(title: {_s(document.meta.title)}, author: {_s(document.meta.author)})",
        (
            f"#set page(width: {page.width_mm}mm, height: {page.height_mm}mm, "
            f"margin: (top: {page.margin_top_mm}mm, bottom: {page.margin_bottom_mm}mm, "
            f"left: {page.margin_left_mm}mm, right: {page.margin_right_mm}mm), "
            f"footer-descent: {number.below_text_mm}mm, footer: context {{\n"
            "  let n = counter(page).get().first()\n"
            f"  let t = text({pn_font}, top-edge: 1em, bottom-edge: 0em)[#({_s(before)} + str(n) + {_s(after)})]\n"
            f"  if calc.odd(n) {{ align(right + top, pad(right: {inset}pt, t)) }} "
            f"else {{ align(left + top, pad(left: {inset}pt, t)) }}\n}})"
        ),
        (
            f'#set text({body_font}, lang: "zh", region: "cn", tracking: {tracking:.3f}pt, '
            "cjk-latin-spacing: none, "
            "top-edge: 0.8em, bottom-edge: -0.2em)"
        ),
        (
            f"#set par(justify: false, leading: {body_pitch - body_size:.2f}pt, "
            f"spacing: {body_pitch - body_size:.2f}pt, first-line-indent: (amount: 2em, all: true))"
        ),
        f"#set table(stroke: {style.table.border_pt}pt, inset: {style.table.cell_padding_pt}pt)",
    ]

    def block(
        role: str,
        content: str,
        *,
        align: str | None = None,
        indent: bool = True,
        right_pad: float = 0.0,
        above: float | None = None,
        par: bool = True,
    ) -> str:
        args, size, pitch = text_args(role)
        role_style = style.role(role)
        align = align or {"justify": "left"}.get(role_style.align, role_style.align)
        first = f"{role_style.first_line_indent_chars}em" if indent else "0em"
        markup = (
            f"#block(above: {above if above is not None else pitch - size:.2f}pt, below: 0pt, "
            f"width: 100%)[#set text({args})\n#set par(leading: {pitch - size:.2f}pt, "
            f"first-line-indent: (amount: {first}, all: true))\n#set align({align})\n"
            f"#pad(right: {right_pad}pt)[{f'#par[{content}]' if par else content}]]"
        )
        return markup

    title_lines = document.title.split("\n")
    out.append(
        block(
            "title",
            " \\\n".join(f"#{_s(line)}" for line in title_lines),
            align="center",
            indent=False,
            above=0,
        )
    )
    previous_lead = True
    for item in document.blocks:
        if isinstance(item, Heading):
            role = f"heading{item.level}"
            args, _size, _pitch = text_args(role)
            out.append(
                block(
                    role,
                    "#show heading: it => block(above: 0pt, below: 0pt, inset: (left: 2em), it.body)\n"
                    f"#heading(level: {item.level}, outlined: true, numbering: none)"
                    f"[#text({args})[#{_s(item.full_text)}]]",
                    par=False,
                )
            )
        elif isinstance(item, Paragraph):
            role = item.role
            above = None
            if previous_lead and role != "lead":
                above = body_pitch  # one blank line after the title block
            out.append(block(role, f"#{_s(item.text)}", indent=role != "lead", above=above))
            previous_lead = role == "lead"
            continue
        else:
            out.append(block("caption", f"#{_s(item.caption)}", align="center", indent=False))
            args, size, pitch = text_args("table")
            aligns = ", ".join(c.align for c in item.columns)
            cells = [f"table.header({', '.join(f'[#{_s(c.title)}]' for c in item.columns)})"]
            for row in item.rows:
                for i, cell in enumerate(row.cells):
                    text = ("\u3000" + cell) if row.kind == "sub" and i == 0 else cell
                    cells.append(f"[#{_s(text)}]")
            out.append(
                f"#block(above: 4pt, below: 0pt)[#set text({args})\n#set par(first-line-indent: 0em, "
                f"leading: {pitch - size:.2f}pt)\n#table(columns: (1fr,) * {len(item.columns)}, align: ({aligns},), "
                + ", ".join(cells)
                + ")]"
            )
        previous_lead = False
    if document.signature:
        pad = style.role("signature").right_indent_chars * style.role("signature").size_pt
        out.append(
            block(
                "signature",
                f"#{_s(document.signature.signer)}",
                align="right",
                indent=False,
                right_pad=pad,
            )
        )
        out.append(
            block(
                "signature",
                f"#{_s(document.signature.date_text)}",
                align="right",
                indent=False,
                right_pad=pad,
            )
        )
    return "\n".join(out) + "\n"


class Typst:
    """A warm Typst compiler with only ``fonts/`` as its fonts."""

    def __init__(self) -> None:
        import typst

        self.faces = typst_faces()
        self.compiler = typst.Compiler(font_paths=[str(FONTS)], ignore_system_fonts=True)

    def source(self, document: Any, style: Any) -> str:
        return typst_source(document, style, self.faces)

    def compile(self, source: str) -> bytes:
        pdf = self.compiler.compile(input=source.encode("utf-8"), format="pdf")
        assert isinstance(pdf, bytes)
        return pdf
