"""The Jinja2 environment of the PDF writer's templates (``templates/pdf/``).

HTML templates (``*.html.j2``) are autoescaped, so model text such as ``<img src=…>`` stays text.
The CSS template (``*.css.j2``) is not: every string it prints goes through :func:`css_string`,
every length through :func:`css_number`.
"""

from __future__ import annotations

from functools import cache

import jinja2

from service import TEMPLATES_DIR

PDF_TEMPLATES_DIR = TEMPLATES_DIR / "pdf"


def css_string(value: str) -> str:
    """``value`` as a quoted CSS string: backslash, quotes and control characters escaped."""
    out = []
    for char in value:
        if char in '"\\' or ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\{ord(char):x} ")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def css_number(value: float) -> str:
    """A number with at most four decimals and no trailing zeros, so the CSS text is stable."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PDF_TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",),
            disabled_extensions=("css.j2",),
            default=True,
            default_for_string=True,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["css_string"] = css_string
    env.filters["num"] = css_number
    return env


@cache
def template(name: str) -> jinja2.Template:
    """The compiled template ``name``, loaded once per process."""
    return environment().get_template(name)


def warm_templates() -> None:
    """Compile every template now (a worker's fork server, :mod:`service.jobs.preload`)."""
    for name in environment().list_templates(extensions=["j2"]):
        template(name)
