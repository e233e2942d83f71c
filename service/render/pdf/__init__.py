"""PDF writer: the document model and a house style in, PDF bytes out.

Stages, one module each:

- :mod:`.css` turns a :class:`~service.style.HouseStyle` into a stylesheet (fonts, page, roles,
  heading counters), once per house style;
- :mod:`.html` turns a :class:`~service.model.Document` into HTML (Jinja2, autoescaped);
- :mod:`.fetcher` is the only way WeasyPrint may read a file: under ``templates/`` and ``fonts/``;
- :mod:`.engine` runs WeasyPrint with one shared font configuration per process, turns its
  warnings into :class:`~service.errors.RenderFailed` and makes the output reproducible.

Call :func:`warm_up` in a worker's initializer so the first document does not pay for loading
fonts and templates.
"""

from service.render.pdf.engine import render_pdf, warm_up

__all__ = ["render_pdf", "warm_up"]
