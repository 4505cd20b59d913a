"""index/lexicon.py: corpus terms for jieba, aliases, entities, deterministic tokens."""

from __future__ import annotations

import re

import pytest

from index.lexicon import STOPWORDS, Lexicon, aliases, extract_terms
from index.loaders import load_file
from tests.conftest import SEED
from tests.index._support import SEED_NAME


@pytest.fixture(scope="module")
def seed_texts() -> list[str]:
    bulletin = load_file(SEED, SEED_NAME)
    return [p.text for a in bulletin.articles for p in a.paragraphs]


@pytest.fixture(scope="module")
def seed_lexicon(seed_texts: list[str]) -> Lexicon:
    return Lexicon.from_texts(seed_texts)


def test_seed_terms_include_names_and_quoted_terms(seed_lexicon: Lexicon) -> None:
    terms = seed_lexicon.terms
    for term in [
        "孝义经开区",  # zone name
        "兴县经开区",
        "吕梁经开区",
        "汾阳杏花村开发区",
        "方山示范区",
        "三个一批",  # quoted term
        "承诺制+标准地+全代办",
        "晋科半导体",  # list item 「…、晋科半导体、…等」
        "锦波生物",
        "吕梁市开发区2024年提质升级行动方案",  # 《document》
    ]:
        assert term in terms, term


def test_seed_terms_leave_out_generic_phrases(seed_lexicon: Lexicon) -> None:
    terms = seed_lexicon.terms
    for junk in ["吕梁市开发区", "全市开发区", "吕梁市与全省开发区", "各开发区", "全省开发区"]:
        assert junk not in terms, junk
    assert not [t for t in terms if re.fullmatch(r"[\u4e00-\u9fff]{2,3}市开发区", t)]
    assert not [t for t in terms if re.search("[与和及的、等]", t)]
    assert all(len(t) >= 2 for t in terms)


def test_extract_terms_on_mixed_text() -> None:
    terms = extract_terms(
        [
            "孝义经开区实施“专业招商+全员招商”，推动惠科新材料、晋科半导体、56GW光伏等项目。",
            "落实《山西省深化开发区管理制度改革推动开发区高质量发展若干措施》，签约投资额24.07亿元。",
            "吕梁市开发区调区扩区需求情况进行全面摸底，“ ”空引号不算。",
        ]
    )
    assert {"孝义经开区", "专业招商+全员招商", "晋科半导体", "56GW光伏"} <= terms
    assert "惠科新材料" not in terms  # the first list item carries the verb before it; it is left out
    assert not any(t.startswith("山西省深化") for t in terms)  # 《》 titles over 20 chars are not words
    assert "吕梁市开发区" not in terms


def test_user_dictionary_keeps_names_whole(seed_lexicon: Lexicon) -> None:
    assert "晋科半导体" not in Lexicon.empty().tokenize("晋科半导体项目建设")
    tokens = seed_lexicon.tokenize("晋科半导体项目建设")
    assert "晋科半导体" in tokens and "半导体" in tokens  # whole name and its sub-words
    assert "三个一批" in seed_lexicon.tokenize("滚动开展三个一批活动")


def test_aliases_map_to_the_canonical_form() -> None:
    lexicon = Lexicon.empty()
    assert "经开区" in lexicon.tokenize("经济技术开发区")
    assert "经开区" in lexicon.tokenize("经开区")
    assert "吕梁经开区" in lexicon.tokenize("吕梁经济技术开发区")
    assert "高新区" in lexicon.tokenize("太原高新技术产业开发区")
    assert "签约" in lexicon.tokenize("签订合作协议")
    assert "投资额" in lexicon.tokenize("投资总额")
    assert "规上" in lexicon.tokenize("规模以上工业增加值")
    # the variant itself is replaced, so documents and queries meet on one token
    assert "经济技术开发区" not in lexicon.tokenize("经济技术开发区")
    for canonical, variants in aliases().items():
        for variant in variants:
            assert canonical in lexicon.tokenize(variant), (variant, canonical)


def test_zone_name_in_long_form_also_indexes_as_short_form() -> None:
    lexicon = Lexicon.from_texts(["孝义经济技术开发区完善充实招商引资委员会。"])
    assert "孝义经济技术开发区" in lexicon.terms
    tokens = lexicon.tokenize("孝义经济技术开发区")
    assert "孝义经开区" in tokens and "经开区" in tokens
    assert "孝义经开区" in Lexicon(["孝义经开区"]).tokenize("孝义经开区招商")


def test_city_names_also_index_their_short_form(seed_lexicon: Lexicon) -> None:
    tokens = seed_lexicon.tokenize("吕梁市签约项目")
    assert "吕梁市" in tokens and "吕梁" in tokens


def test_stopwords_and_punctuation_are_dropped(seed_lexicon: Lexicon) -> None:
    tokens = seed_lexicon.tokenize("请问吕梁市的签约投资额是多少？（24.07亿元）")
    assert not set(tokens) & STOPWORDS
    assert not [t for t in tokens if re.fullmatch(r"[^\w]+", t)]
    assert "投资额" in tokens and "24.07" in tokens


def test_full_width_and_case_are_folded(seed_lexicon: Lexicon) -> None:
    assert seed_lexicon.tokenize("签约投资额２４．０７亿元，年产５６ＧＷ") == seed_lexicon.tokenize(
        "签约投资额24.07亿元，年产56gw"
    )


def test_tokenize_is_deterministic(seed_texts: list[str], seed_lexicon: Lexicon) -> None:
    again = Lexicon(sorted(seed_lexicon.terms, reverse=True))
    for text in [*seed_texts[:10], "吕梁 三个一批 签约投资额", "Taiyuan High-Tech Zone 56GW -2.6%"]:
        first = seed_lexicon.tokenize(text)
        assert first == seed_lexicon.tokenize(text)
        assert first == again.tokenize(text)


def test_json_round_trip(seed_lexicon: Lexicon) -> None:
    data = seed_lexicon.to_json()
    assert data == Lexicon(reversed(sorted(seed_lexicon.terms))).to_json()  # order-independent
    restored = Lexicon.from_json(data)
    assert restored.terms == seed_lexicon.terms
    assert restored.tokenize("孝义经开区招商") == seed_lexicon.tokenize("孝义经开区招商")
    assert "三个一批" in data  # not escaped: readable in the catalog


def test_entities_drop_general_words(seed_lexicon: Lexicon) -> None:
    entities = seed_lexicon.entities
    assert {"三个一批", "孝义经开区", "晋科半导体", "承诺制+标准地+全代办"} <= entities
    for general in ["项目", "土地", "新能源", "光伏", "招商引资"]:
        assert general in seed_lexicon.terms  # found by the term extraction …
        assert general not in entities  # … but a dictionary word, so not an entity
    assert Lexicon(["项目", "三个一批", "新能源"]).entities == frozenset({"三个一批"})
    assert Lexicon().entities == frozenset()


def test_words_and_nouns(seed_lexicon: Lexicon) -> None:
    words = seed_lexicon.words("吕梁市的三个一批活动，签约投资额24.07亿元")
    assert "的" in words and "三个一批" in words and "，" not in words
    nouns = seed_lexicon.nouns("吕梁市的签约投资额是多少")
    assert "吕梁市" in nouns and "投资额" in nouns and "的" not in nouns
