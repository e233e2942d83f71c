"""Multi-line titles broken at word boundaries, in a trapezoid or diamond (GB/T 9704 §7.3.1).

:func:`break_title` puts ``\\n`` into a title that does not fit one line; both writers only honour
those breaks, so the PDF and the DOCX break a title alike. Words come from jieba's segmenter,
with the phrases a disclosure title must keep whole added to its dictionary (消费者权益保护,
第一季度 …), a number never leaves the 年, 月 or 季度 it counts, and a year keeps the quarter
or half it names (2022年第一季度). A title that already holds
``\\n`` (a break chosen in the payload) is returned as it is.

Of the ways to break a title into the fewest lines that fit, the chosen one has the most even
line lengths among those shaped as a trapezoid (each line no longer, or each no shorter, than
the one above) or a diamond (longest in the middle); ties go to the longer first line. A line
"fits" with :data:`SLACK_CHARS` to spare: Word and LibreOffice add space between Chinese and
Latin digits, which would push the last character of a full line onto a line of its own.

A payload may choose the breaks itself: a title holding ``\n`` is printed broken there.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import logging
import marshal
import math
import os
import re
import tempfile
import threading
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING

from service import PROJECT_ROOT
from service.model.document import width_in_chars

if TYPE_CHECKING:
    import jieba

WHOLE_PHRASES: tuple[str, ...] = (
    "消费者权益保护",
    "金融消费者权益保护",
    "信息披露",
    "重大信息",
    "消费投诉",
    "投诉情况",
    "年度",
    "上半年",
    "下半年",
    "第一季度",
    "第二季度",
    "第三季度",
    "第四季度",
    "有限责任公司",
    "股份有限公司",
    "监督管理总局",
)
"""Phrases never broken inside, besides jieba's own words."""

SLACK_CHARS = 1
"""Characters a title line leaves free of the line's width."""

_NO_LINE_START = set("，。、；：？！）》」』”’〕】%")
_NO_LINE_END = set("（《「『“‘〔【")
_GLUED = re.compile(r"(?<=[0-9])(?=[年月日季号届期])|(?<=[0-9])(?=[0-9])")
"""Token joints that are not break opportunities: inside a number and between a number and
the unit of time it counts (2022年, 12月)."""

_lock = threading.Lock()


DICTIONARY_CACHE_DIR = PROJECT_ROOT / "build" / "jieba"
"""Where jieba's prefix dictionary is kept once built (``build/`` is git-ignored): written by
``make install`` (the container image's build too) or else by the first process that builds it
when the folder is writable. Where it is neither, each process builds it in memory, as before."""


@cache
def _tokenizer() -> jieba.Tokenizer:
    """jieba's segmenter, its dictionary read from the package itself (and the phrases added).

    jieba's own start-up loads a cache it keeps in the system's temporary folder (and writes it
    there): a file outside the service's assets, shared with every user of the machine. This
    one is kept in :data:`DICTIONARY_CACHE_DIR` instead, named by jieba's version and the
    SHA-256 of its ``dict.txt``, so another jieba or dictionary never reads it. Building the
    prefix dictionary costs ~0.8 CPU-s, reading the cache ~0.25 s, once per process and only
    when a title needs breaking.
    """
    # Imported here: importing jieba costs ~0.13 s (its HMM tables), which a process whose
    # titles all fit on one line never needs.
    import jieba

    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total = _prefix_dictionary(tokenizer, jieba.__version__)
    tokenizer.initialized = True
    for phrase in WHOLE_PHRASES:
        tokenizer.add_word(phrase, freq=10**7)
    return tokenizer


def warm_tokenizer() -> None:
    """Load jieba and its dictionary now rather than for the first title that needs breaking
    (a worker's fork server, :mod:`service.jobs.preload`)."""
    _tokenizer()


def _prefix_dictionary(tokenizer: jieba.Tokenizer, version: str) -> tuple[dict[str, int], int]:
    """jieba's prefix dictionary and its total count: from the cache file if there is a
    readable one, else built from ``dict.txt`` and written to the cache (atomically: a
    concurrent reader sees the old file or the whole new one). A cache that cannot be read or
    written costs only the build."""
    with tokenizer.get_dict_file() as dictionary:
        text = dictionary.read()
    key = hashlib.sha256(text).hexdigest()[:16]
    path = DICTIONARY_CACHE_DIR / f"dict-{version}-{key}.marshal"
    try:
        freq, total = marshal.loads(path.read_bytes())  # marshal.load of a file: 3 × slower
        if isinstance(freq, dict) and isinstance(total, int):
            return freq, total
    except (OSError, EOFError, ValueError, TypeError):
        pass
    freq, total = tokenizer.gen_pfdict(io.BytesIO(text))
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".dict-")
        try:
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), 0o644)  # readable by a service running as another user
                marshal.dump((freq, total), out)
            os.replace(temporary, path)
        except OSError:
            os.unlink(temporary)
            raise
    return freq, total


def words(text: str) -> list[str]:
    """``text`` cut into the pieces a line may break between (see the module docstring)."""
    with _lock:
        pieces = list(_tokenizer().cut(text, HMM=False))
    joined: list[str] = []
    for piece in pieces:
        if joined and _glued(joined[-1], piece):
            joined[-1] += piece
        else:
            joined.append(piece)
    return joined


_PERIOD_PARTS = frozenset(
    ("第一季度", "第二季度", "第三季度", "第四季度", "上半年", "下半年", "年度")
)
_YEAR = re.compile(r"[0-9]{4}年$")
_COMPANY_SUFFIXES = frozenset(("有限责任公司", "股份有限公司", "有限公司"))
"""A company's legal form stays on the line of its name."""


def _glued(before: str, after: str) -> bool:
    """No break between ``before`` and ``after``: before closing or after opening punctuation,
    inside a number or a date, between a year and the part of it a period names
    (2022年第一季度, 2022年上半年), nor before a company's legal form (…股份有限公司)."""
    if after[0] in _NO_LINE_START or before[-1] in _NO_LINE_END:
        return True
    if _YEAR.search(before) and after in _PERIOD_PARTS or after in _COMPANY_SUFFIXES:
        return True
    return bool(_GLUED.search(before[-1] + after[0]))


def break_title(title: str, chars_per_line: float) -> str:
    """``title`` with ``\n`` at its line breaks when it is wider than a line of
    ``chars_per_line`` full-width characters (of the title's size) less :data:`SLACK_CHARS`;
    unchanged when it fits or holds a ``\n``."""
    limit = chars_per_line - SLACK_CHARS
    if "\n" in title or width_in_chars(title) <= limit:
        return title
    return "\n".join(title_lines(words(title), limit))


def title_lines(pieces: Sequence[str], chars_per_line: float) -> list[str]:
    """``pieces`` joined into the best lines (see the module docstring); a piece wider than a
    line is a line of its own, and the writer wraps it."""
    widths = [width_in_chars(p) for p in pieces]
    total = sum(widths)
    lines = max(2, math.ceil(total / chars_per_line))
    while lines <= len(pieces):
        if math.comb(len(pieces) - 1, lines - 1) > MAX_SPLITS_TRIED:
            return _filled(pieces, widths, lines, chars_per_line)
        best = _best_split(pieces, widths, lines, chars_per_line)
        if best is not None:
            return best
        lines += 1
    return list(pieces)


MAX_SPLITS_TRIED = 20_000
"""Beyond this many ways to split (a title of many lines, which no real title is), lines are
filled in order to an even length instead of every split being weighed."""


def _filled(pieces: Sequence[str], widths: Sequence[float], lines: int, limit: float) -> list[str]:
    """Lines filled in order, each ended at the word boundary nearest an even share."""
    target = sum(widths) / lines
    out: list[str] = []
    current, width = "", 0.0
    for piece, piece_width in zip(pieces, widths, strict=True):
        after = width + piece_width
        if current and (after > limit or abs(after - target) > abs(width - target)):
            out.append(current)
            current, width = "", 0.0
        current, width = current + piece, width + piece_width
    return [*out, current] if current else out


def _best_split(
    pieces: Sequence[str], widths: Sequence[float], lines: int, limit: float
) -> list[str] | None:
    best: tuple[tuple[int, float, float], list[str]] | None = None
    for cuts in _cut_sets(len(pieces), lines):
        bounds = (0, *cuts, len(pieces))
        lengths = [sum(widths[a:b]) for a, b in itertools.pairwise(bounds)]
        if max(lengths) > limit:
            continue
        mean = sum(lengths) / lines
        key = (
            0 if _shaped(lengths) else 1,
            sum((length - mean) ** 2 for length in lengths),
            -lengths[0],
        )
        if best is None or key < best[0]:
            text = ["".join(pieces[a:b]) for a, b in itertools.pairwise(bounds)]
            best = (key, text)
    return None if best is None else best[1]


def _cut_sets(count: int, lines: int) -> Iterable[tuple[int, ...]]:
    return itertools.combinations(range(1, count), lines - 1)


def _shaped(lengths: Sequence[float]) -> bool:
    """A trapezoid (monotone lengths) or a diamond (rising to a peak, then falling)."""
    pairs = list(itertools.pairwise(lengths))
    if all(a <= b for a, b in pairs) or all(a >= b for a, b in pairs):
        return True
    peak = lengths.index(max(lengths))
    return all(a <= b for a, b in pairs[:peak]) and all(a >= b for a, b in pairs[peak:])
