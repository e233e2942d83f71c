"""What the render workers' fork server loads once, before it forks any of them.

With ``PILU_WORKER_START_METHOD=forkserver`` (the default) every render worker is forked from
one helper process, multiprocessing's fork server, which imports this module first
(:data:`service.jobs.WORKER_PRELOAD`, passed to the pool). A worker started by
``spawn`` imports the service and loads its data on its own, ~1.9 CPU-s of its first item:
WeasyPrint and both writers imported, jieba's dictionary, the faces' character maps, each
house style's DOCX font parts, the compiled templates. Forked from a process that did it once,
every worker starts with all of it, shared copy-on-write.

Only Python modules and data are loaded here. Nothing calls Pango, fontconfig or cairo (the
stylesheet with its ``@font-face`` rules, the first layout): a child must not inherit their
state from a process that used them, so each worker sets them up itself, on its first item or
in its initializer, as before.

Importing the module does the loading, because an import is the one thing the fork server
runs. A failure here is not an error: the worker loads the same things lazily and reports
any problem with the item that needs them.
"""

from __future__ import annotations

import contextlib

# The modules a worker runs, imported once for every worker.
import service.jobs.render  # noqa: F401
import service.render.docx  # noqa: F401
import service.render.pdf  # noqa: F401
import service.workers.child  # noqa: F401
from service.model.title import warm_tokenizer
from service.pipeline import load_template_versions
from service.render.docx.writer import warm_up as warm_docx_fonts
from service.render.pdf.engine import user_agent_stylesheet
from service.render.pdf.templating import warm_templates
from service.style import list_house_styles, load_house_style


def load() -> None:
    """Load the data every render needs that is safe to share across ``fork``."""
    warm_tokenizer()
    load_template_versions()
    warm_templates()
    user_agent_stylesheet()
    for name in list_house_styles():
        warm_docx_fonts(load_house_style(name))


with contextlib.suppress(Exception):
    load()
