"""Report kinds: each a package here holding its payload model, figures registry, rules, naming
and sample, with its templates by year in ``templates/<kind>/``.

Adding a kind is adding one package here (its ``KIND``, a :class:`Kind`; the registry finds it)
and one templates folder. Above ``payload`` and ``model``
(whose shapes and formatters a kind is made of), below ``report`` (which builds any kind's
document from what the kind says).
"""

from service.kinds.kind import Figure, Kind, Naming, compute_figures
from service.kinds.registry import (
    KINDS,
    kind_named,
    kind_of,
    parse_payload,
    payload_json_schema,
)

__all__ = [
    "KINDS",
    "Figure",
    "Kind",
    "Naming",
    "compute_figures",
    "kind_named",
    "kind_of",
    "parse_payload",
    "payload_json_schema",
]
