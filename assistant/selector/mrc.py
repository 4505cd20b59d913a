"""The reading-comprehension data the selector learns from, and its split by article.

* CMRC 2018 trial (ymcui/cmrc2018, simplified Chinese, 1,002 questions) — CC BY-SA 4.0;
* DRCD dev and test (DRCKnowledgeTeam/DRCD, traditional Chinese, 7,017 questions) — CC BY-SA
  3.0, converted to simplified Chinese with OpenCC ``t2s``.

Read from ``../shared/train-data/mrc/`` beside the repository.  DRCD dev and test share article
titles, so questions are split by article title: every paragraph of an article lies on one side.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MRC_DIR = REPO.parent / "shared" / "train-data" / "mrc"
FILES = {
    "cmrc2018_trial.json": ("cmrc", False, "CC BY-SA 4.0", "CMRC 2018 trial (ymcui/cmrc2018)"),
    "drcd_dev.json": ("drcd", True, "CC BY-SA 3.0", "DRCD dev (DRCKnowledgeTeam/DRCD), OpenCC t2s"),
    "drcd_test.json": ("drcd", True, "CC BY-SA 3.0", "DRCD test (DRCKnowledgeTeam/DRCD), OpenCC t2s"),
}
HELD_ASIDE_PERCENT = 15


class MRCDataError(FileNotFoundError):
    """The training data is missing; the message says where it is expected."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str
    answer_start: int  # offset into its paragraph's context


@dataclass(frozen=True)
class Paragraph:
    id: str  # unique: <dataset>-<paragraph id>
    dataset: str
    article: str  # the split key: dataset family + article title
    context: str
    questions: tuple[Question, ...]


def split_of(article: str, percent: int = HELD_ASIDE_PERCENT) -> str:
    """'held' for about ``percent``% of articles (by a hash of the key), else 'train'.

    >>> split_of("drcd:梵文"), split_of("drcd:梵文") == split_of("drcd:梵文")
    ('train', True)
    """
    h = int(hashlib.sha1(article.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "held" if h < percent else "train"


def file_hashes(directory: Path = MRC_DIR) -> dict[str, str]:
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest()[:16] for name in FILES}


def load(directory: Path = MRC_DIR) -> list[Paragraph]:
    """All paragraphs with their questions, in simplified Chinese."""
    missing = [name for name in FILES if not (directory / name).exists()]
    if missing:
        raise MRCDataError(
            f"the selector's training data is missing: {', '.join(missing)} under {directory} "
            "(expected at ../shared/train-data/mrc beside the repository)"
        )
    import opencc

    t2s = opencc.OpenCC("t2s")
    out: list[Paragraph] = []
    for name, (family, traditional, _licence, _what) in FILES.items():
        data = json.loads((directory / name).read_text(encoding="utf-8"))["data"]

        def conv(text: str, traditional: bool = traditional) -> str:
            return t2s.convert(text) if traditional else text

        for article in data:
            key = f"{family}:{conv(article.get('title') or article.get('id', ''))}"
            for para in article["paragraphs"]:
                context = conv(para["context"])
                qs = []
                for qa in para["qas"]:
                    if not qa.get("answers"):
                        continue
                    ans = qa["answers"][0]
                    text = conv(ans["text"])
                    start = int(ans["answer_start"])
                    if context[start : start + len(text)] != text:  # a conversion changed a length
                        found = [i for i in range(len(context)) if context.startswith(text, i)]
                        if not found:
                            continue
                        start = min(found, key=lambda i: abs(i - start))
                    qs.append(Question(f"{family}-{qa['id']}", conv(qa["question"]), text, start))
                out.append(Paragraph(f"{family}-{para['id']}", family, key, context, tuple(qs)))
    return out
