"""The national gazetteer: every province, city and county, without reading common words as places."""

from __future__ import annotations

from index.gazetteer import gazetteer


def names(text: str) -> list[str]:
    g = gazetteer()
    return [g.full_name(m.codes[0]) for m in g.find(text)]


def test_it_holds_all_of_china_not_one_province() -> None:
    g = gazetteer()
    levels = [p.level for p in g.places.values()]
    top = [p for p in g.places.values() if not p.parent]  # provinces and the four municipalities
    assert len(top) >= 31 and levels.count("city") >= 330 and levels.count("county") >= 2800


def test_counties_of_other_provinces_are_found_with_their_parents() -> None:
    assert names("眉县经开区") == ["陕西省宝鸡市眉县"]
    assert names("萧山经济技术开发区") == ["浙江省杭州市萧山区"]
    assert names("日照市东港区") == ["山东省日照市", "山东省日照市东港区"]


def test_longest_match_left_to_right() -> None:
    assert names("浙江门户") == ["浙江省"]
    assert names("宝鸡市眉县") == ["陕西省宝鸡市", "陕西省宝鸡市眉县"]


def test_common_words_are_not_places() -> None:
    assert names("合作共赢，和平发展，城区人口，公安局") == []
    assert names("重大安全风险") == []  # 大安 (a city in 吉林) is not a word of this sentence


def test_no_place_starts_inside_a_name() -> None:
    """「孙中山」 is a person, 「托木斯克州」 a Russian oblast: neither names 中山市 or 克州; a
    demonym (天津人) and a place after a name (孙中山在广州) still do."""
    assert names("1924年，孙中山在广州创办黄埔军校。") == ["广东省广州市"]
    assert names("伊尔库茨克州、托木斯克州位于西伯利亚") == []
    assert names("罗保铭，天津人。") == ["天津市"]
    assert names("翠亨村属中山市南朗镇") == ["广东省中山市"]


def test_ambiguous_names_keep_every_reading() -> None:
    g = gazetteer()
    [m] = g.find("朝阳区")
    assert len(m.codes) >= 2


def test_every_row_has_a_known_parent() -> None:
    g = gazetteer()
    assert all(not p.parent or p.parent in g.places for p in g.places.values())
