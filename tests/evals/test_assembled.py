"""Corpora assembled from ../shared: complete or made again, never half-written; the zone-holdout
set's sources are listed, none of them reserved or a zone-dev report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals import assembled
from evals.datasets import DatasetError, load_questions, resolve


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    calls: list[Path] = []

    def build(out: Path) -> None:
        calls.append(out)
        (out / "a.txt").write_text("2023-07-02 10:00，正文：眉县经开区签约项目12个。", encoding="utf-8")

    monkeypatch.setitem(assembled.BUILDERS, "toy", build)
    return calls


def test_a_complete_folder_is_reused_and_an_outdated_one_made_again(tmp_path: Path, counting: list[Path],
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "toy"
    assert assembled.ensure("toy", out) == out and (out / "a.txt").is_file()
    assembled.ensure("toy", out)
    assert len(counting) == 1
    monkeypatch.setattr(assembled, "_recipe", lambda name: "toy:2")  # its sources changed
    assembled.ensure("toy", out)
    assert len(counting) == 2 and (out / assembled.MARKER).read_text(encoding="utf-8").strip() == "toy:2"


def test_an_interrupted_assembly_leaves_nothing_that_looks_complete(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(out: Path) -> None:
        (out / "a.txt").write_text("半篇", encoding="utf-8")
        raise assembled.AssemblyError("needs ../shared/eval-data/crud-news")

    monkeypatch.setitem(assembled.BUILDERS, "toy", broken)
    with pytest.raises(assembled.AssemblyError):
        assembled.ensure("toy", tmp_path / "toy")
    assert list(tmp_path.iterdir()) == []


def test_missing_news_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(assembled.AssemblyError, match="crud-news"):
        assembled.crud_articles(["crud:x:1"], path=tmp_path / "corpus_68k.jsonl.gz")


def test_a_dataset_that_cannot_be_assembled_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(assembled, "NEWS", tmp_path / "gone" / "corpus_68k.jsonl.gz")
    monkeypatch.setitem(assembled.BUILDERS, "zone-holdout", assembled._news("zone-holdout"))
    from evals import datasets

    monkeypatch.setitem(datasets.ASSEMBLED, "zone-holdout", tmp_path / "zone-holdout")
    with pytest.raises(DatasetError, match=r"zone-holdout set could not be assembled.*crud-news"):
        resolve("zone-holdout")


QUESTIONS = {"zone-holdout": "zone_holdout_qa.jsonl", "zone-holdout2": "zone_holdout2_qa.jsonl",
             "zone-holdout3": "zone_holdout3_qa.jsonl", "zone-holdout4": "zone_holdout4_qa.jsonl",
             "zone-holdout5": "zone_holdout5_qa.jsonl"}


def _ids(name: str) -> list[str]:
    return json.loads(assembled.NEWS_SOURCES[name].read_text(encoding="utf-8"))["ids"]


@pytest.mark.parametrize("name", QUESTIONS)
def test_zone_holdout_questions_come_from_their_listed_sources(name: str) -> None:
    questions = load_questions(assembled.REPO / "evals" / "datasets" / QUESTIONS[name])
    answerable = [q for q in questions if not q["unanswerable"]]
    assert len(answerable) == 50 and len(questions) - len(answerable) == 10
    assert {q["source"] for q in answerable} <= set(_ids(name)) and len(set(_ids(name))) == len(_ids(name)) == 25


def test_the_holdouts_share_no_report() -> None:
    names = sorted(QUESTIONS)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not set(_ids(a)) & set(_ids(b)), (a, b)


@pytest.mark.integration
@pytest.mark.parametrize("name", QUESTIONS)
def test_zone_holdout_sources_are_neither_reserved_nor_zone_dev(name: str) -> None:
    news = assembled.NEWS.parent
    if not (news / "reserved.txt").is_file():
        pytest.skip(f"needs ../shared/eval-data/crud-news at {news}")
    ids = set(_ids(name))
    reserved = set((news / "reserved.txt").read_text(encoding="utf-8").split())
    zone_dev = set(json.loads((news.parent / "zone-dev" / "sources.json").read_text(encoding="utf-8")).values())
    assert not ids & reserved and not ids & zone_dev
    texts = assembled.crud_articles(ids)
    for q in load_questions(assembled.REPO / "evals" / "datasets" / QUESTIONS[name]):
        for forms in q["answers"]:  # every accepted form is printed in the question's source
            assert any(f.replace(" ", "") in texts[q["source"]].replace(" ", "") for f in forms), q["id"]
