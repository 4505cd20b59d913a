"""Every entry of the language-knowledge data files says where it comes from (the guide's rule:
language knowledge lives in data files, each entry with its provenance)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted([*ROOT.glob("index/data/*.tsv"), *ROOT.glob("assistant/data/*.tsv")])
PROVENANCE = ("general", "pinyin", "jionlp", "corpus:")
GENERATED = {"gazetteer.tsv"}  # generated from jionlp; its header names the source and the command


def _rows(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#") and not line.startswith("[")]


def test_the_data_files_are_found() -> None:
    assert len(FILES) >= 10 and any(p.name == "place_words.tsv" for p in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_entry_names_its_provenance(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("#"), f"{path.name} opens with no comment saying what it holds"
    if path.name in GENERATED:
        assert "jionlp" in text.split("\n", 3)[1] + text.split("\n", 3)[2]
        return
    bad = [row for row in _rows(path) if len(row) < 2 or not row[-1].strip().startswith(PROVENANCE)]
    assert not bad, f"{path.name}: rows without a provenance column: {bad[:3]}"
