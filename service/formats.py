"""The media type of each output format, for every layer that sends or describes a document,
and the names a writer leaves in its output for a later step to find."""

MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "zip": "application/zip",
}
"""A writer's document (``pdf``, ``docx``), or ``zip``: both in one ZIP."""

SIGNATURE_DESTINATION = "signature"
"""The PDF named destination (``Names/Dests``, ``/FitR``) of the signature block, the 署名 and
its date: written by :mod:`service.render.pdf.signature_area`, read by :mod:`service.signing.pades`
to place a visible signature."""

MARK_BOOKMARK_PREFIX = "_Pilu"
"""The DOCX writer marks every value it prints from a figure (in prose and in table cells) with
a bookmark named ``_Pilu<n>`` around its runs (the leading ``_`` hides it from Word's bookmark
list); :mod:`service.readback` finds them again. Bookmarks, not content controls: LibreOffice
7.4 keeps bookmarks through "save as DOCX" but drops a run-level ``w:sdt``'s tag."""

MARKS_NAMESPACE = "urn:pilu:docx-marks:1"
"""The namespace of the custom XML part (``customXml/item1.xml``) mapping each bookmark to the
figure it marks: ``<marks kind="…"><m b="_Pilu1" f="review.total"/>…</marks>``. A table cell's
figure is named by place: ``table:<number>:<row>:<column>`` (rows and columns from 1, the header
row not counted)."""
