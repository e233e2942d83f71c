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
its date: written by :mod:`service.render.pdf.signature_area`, read by :mod:`service.signing`
to place a visible signature."""
