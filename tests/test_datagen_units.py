"""Building blocks of the generator: spans, occlusion, spatial predicates, speech times."""

from __future__ import annotations

import numpy as np

from muie_bench.datagen.compose import Scene
from muie_bench.datagen.sets_image import spatial_predicate
from muie_bench.datagen.speech import spans, speak
from muie_bench.datagen.text import TextBuilder


def test_template_spans_are_exact() -> None:
    tb = TextBuilder().template("{P1} met {P2} in {G1}; {P1} smiled.",
                                {"P1": "Mara Quill", "P2": "Dov Ellery", "G1": "Kelmarsh"})
    assert tb.text == "Mara Quill met Dov Ellery in Kelmarsh; Mara Quill smiled."
    assert {k: tb.text[s:e] for k, (s, e) in tb.spans.items()} == {
        "P1": "Mara Quill", "P2": "Dov Ellery", "G1": "Kelmarsh"}
    assert tb.spans["P1"] == (0, 10)  # the first use


def test_later_layers_occlude_and_border_clips() -> None:
    scene = Scene(np.zeros((20, 30, 3), np.uint8))
    red = np.full((10, 10, 3), (255, 0, 0), np.uint8)
    blue = np.full((10, 10, 3), (0, 0, 255), np.uint8)
    scene.paste("a", red, np.ones((10, 10), bool), 0, 0)
    scene.paste("b", blue, np.ones((10, 10), bool), 5, 5)
    scene.paste("c", red, np.ones((10, 10), bool), 25, 15)  # mostly off the canvas
    assert scene.masks["a"].sum() == 100 - 25 and not scene.masks["a"][5:10, 5:10].any()
    assert scene.masks["b"].sum() == 100 and scene.masks["c"].sum() == 25
    assert (scene.img[scene.masks["b"]] == (0, 0, 255)).all()
    assert (scene.img[scene.masks["a"]] == (255, 0, 0)).all()
    assert scene.background_mask().sum() == 20 * 30 - 75 - 100 - 25


def test_spatial_predicates() -> None:
    left, right = (0, 0, 10, 10), (50, 0, 60, 10)
    assert spatial_predicate(left, right, False) == ("on the left of", True)
    assert spatial_predicate(right, left, False) == ("on the right of", True)
    top, bottom = (0, 0, 10, 10), (2, 40, 12, 50)
    assert spatial_predicate(top, bottom, False) == ("above", True)
    assert spatial_predicate(bottom, top, False) == ("below", True)
    a, b = (0, 0, 10, 10), (5, 5, 15, 15)  # b hides part of a: b is in front (b is head)
    assert spatial_predicate(a, b, b_occludes_a=True) == ("in the front of", False)


def test_speech_word_times_locate_each_name() -> None:
    text = "Mara Quill joined Bluefin Analytics in Port Averly."
    sp = speak(text, "en-us")
    names = [(0, 10), (18, 35), (39, 50)]
    got = [spans(sp, s, e)[0] for s, e in names]
    assert all(0 <= a < b <= sp.duration for a, b in got)
    assert got[0][1] <= got[1][0] and got[1][1] <= got[2][0]  # in order, not overlapping
    assert spans(sp, 11, 17)[0][0] >= got[0][1]  # "joined" comes after "Mara Quill"
