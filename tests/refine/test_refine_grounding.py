"""Grounding without a model: copied answers score high, invented ones low."""

from __future__ import annotations

from refine_helpers import EIFFEL

from qaforge.refine.grounding import grounding_of


def test_copied_answer_is_fully_grounded() -> None:
    g = grounding_of("The tower is 330 metres tall.", EIFFEL)
    assert g.score > 0.95 and g.span > 0.95 and g.words == 1.0
    assert "330 metres tall" in g.evidence


def test_paraphrase_scores_between_copy_and_invention() -> None:
    paraphrase = grounding_of("Gustave Eiffel's engineering company designed the tower, "
                              "finished in 1889.", EIFFEL)
    invented = grounding_of("It was built by the Romans in 1925 as a lighthouse for ships "
                            "on the Thames.", EIFFEL)
    assert invented.score < 0.5 < paraphrase.score < 1.0
    assert invented.words < 0.5


def test_empty_inputs_score_zero() -> None:
    assert grounding_of("", EIFFEL).score == 0.0
    assert grounding_of("Anything at all.", "").score == 0.0


def test_long_chunk_is_fast_enough() -> None:
    import time

    chunk = (EIFFEL + " ") * 40  # about 10 000 characters
    start = time.perf_counter()
    for _ in range(20):
        grounding_of("The tower is 330 metres tall and was designed by Gustave Eiffel's "
                     "company. It was completed in 1889.", chunk)
    assert (time.perf_counter() - start) / 20 < 0.05


def test_scripts_without_spaces_use_the_span() -> None:
    chunk = ("東京は日本の首都であり、世界最大の都市圏の一つである。人口は約1400万人である。"
             "隅田川が市内を流れている。")
    copied = grounding_of("東京は日本の首都である。", chunk)
    invented = grounding_of("大阪はフランスの首都で、エッフェル塔がある。", chunk)
    assert copied.score > 0.8 > 0.5 > invented.score
    korean = grounding_of("보험료는 매월 납부합니다.",
                          "보험 계약자는 보험료를 매월 납부합니다. 계약 기간은 10년입니다.")
    assert korean.score > 0.6
