"""The errors of reading an edited DOCX back: a package refused before reading, and a document
read with problems (every problem at once, each naming its place in Chinese)."""

from __future__ import annotations

from service.errors import FieldError, PiluError


class DocxRefused(PiluError):
    """The upload is not a DOCX Pilu will open: not a ZIP, a ZIP bomb, macros, external
    relationships, a missing or unparsable part."""

    status = 400
    code = "docx_refused"


class ReadBackFailed(PiluError):
    """The DOCX was read, but what it says cannot become a payload; ``errors`` lists every
    problem, each ``path`` a place in the document (``第12段``, ``表3 第2行“件数”列``) or,
    for a rule of the payload, its JSON path."""

    status = 422
    code = "docx_unreadable"

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(
            f"上传的Word文档有{len(errors)}处不能读回", details=[e.as_dict() for e in errors]
        )
