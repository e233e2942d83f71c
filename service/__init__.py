"""Pilu: consumer-protection disclosures from a JSON payload to official DOCX and PDF documents.

Stages run one way: ``payload`` (schema and rules) -> ``kinds`` (the model, rules, figures and
naming a payload's ``kind`` selects) -> ``report`` (template by report kind and year) ->
``model`` (the frozen document) -> ``render`` (PDF and DOCX writers, reading the model and the
``style`` house style only).

The packages are layers; each imports only from the layers below it, and siblings on one line
not from each other (``lint-imports`` checks it, with the contracts in ``pyproject.toml``):

1. ``cli`` (the ``pilu`` command);
2. ``server``: the web application as ``pilu serve`` runs it, the API with the console mounted;
3. ``console``: the compliance console's pages, on the API's state, keys and error tree;
4. ``api``: the HTTP API; it never imports the console;
5. ``jobs``: batches, the runner, ``pilu batch``, and the task functions the workers run;
6. ``workers`` | ``store`` | ``signing`` | ``readback``: the pool runs whatever module-level
   function it is given, and the store keeps bytes and manifests; neither knows the pipeline or
   any stage; ``signing`` signs finished PDFs with the company certificate; ``readback`` reads
   an edited DOCX back into a payload (through the pipeline);
7. ``pipeline``: payload bytes to documents, the one entry to the stages;
8. ``report`` | ``render`` | ``provenance`` (what a manifest and an archival PDF record);
9. ``kinds``: the report kinds, one package each (payload model, figures registry, rules,
   naming, sample), and the published schema, their union;
10. ``payload`` | ``model`` | ``style``;
11. ``settings`` | ``ziparchive`` | ``formats`` (the media type of each output format);
12. ``errors``.

Besides: ``render`` never reads the payload (nor a kind), and ``api`` and ``console`` never import a writer
(documents are rendered in a worker, through the pipeline).
"""

from pathlib import Path

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or installed tree) holding ``templates/`` and ``fonts/``."""

TEMPLATES_DIR = PROJECT_ROOT / "templates"
FONTS_DIR = PROJECT_ROOT / "fonts"
