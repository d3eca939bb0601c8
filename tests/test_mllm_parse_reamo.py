"""Parser on Reamo-shaped answers: key-value events with every role of the bundled inventories,
``<concept>`` grounding requests, special tokens, natural label names, step-by-step prose,
whole-word anchoring, and answers written in the style of the paper's examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from muie_bench.schema import Annotation, SetSpec
from muie_bench.systems.parse import LabelMap, norm_label, parse_output

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "benchmark_data" / "muie-synth-mini" / "manifest.json"
TINY = ROOT / "tests" / "data" / "tiny" / "manifest.json"


def _sets(path: Path) -> dict[str, SetSpec]:
    return {s["id"]: SetSpec.model_validate(s) for s in json.loads(path.read_text())["sets"]}


MINI_SETS = _sets(MINI)
TINY_SETS = _sets(TINY)


def evt(ann: Annotation) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [(e.type, e.trigger.text, [(a.role, ann.entity(a.mention).text) for a in e.arguments])
            for e in ann.events]


def ents(ann: Annotation) -> list[tuple[str, str | None]]:
    return [(m.text, m.type) for m in ann.entities]


def rels(ann: Annotation) -> list[tuple[str, str, str]]:
    return [(ann.entity(r.head).text, r.type, ann.entity(r.tail).text) for r in ann.relations]


# --------------------------------------------------------------------------- every bundled role

ROLE_CASES = [
    (bench, sid, etype, role)
    for bench, sets in (("mini", MINI_SETS), ("tiny", TINY_SETS))
    for sid, spec in sets.items() if spec.task == "ee"
    for etype, roles in spec.event_types.items() for role in roles
]


def _role_case(sid: str, bench: str) -> SetSpec:
    return (MINI_SETS if bench == "mini" else TINY_SETS)[sid]


@pytest.mark.parametrize(("bench", "sid", "etype", "role"), ROLE_CASES,
                         ids=[f"{b}-{s}-{e}-{r}" for b, s, e, r in ROLE_CASES])
@pytest.mark.parametrize("spelling", ["raw", "name"])
def test_key_value_event_with_every_bundled_role(bench: str, sid: str, etype: str, role: str,
                                                 spelling: str) -> None:
    spec = _role_case(sid, bench)
    text = "Quorra kept wrapping parcels; then Quorra wrap the Zindle box near Old Pell."
    t, r = (etype, role) if spelling == "raw" else (spec.label_name(etype), spec.label_name(role))
    raw = f"(Type: {t}, Trigger: wrap, {r}: Zindle box)"
    res = parse_output(raw, "ee", spec, text)
    assert res.error is None
    assert evt(res.annotation) == [(etype, "wrap", [(role, "Zindle box")])]
    trig = res.annotation.events[0].trigger
    assert trig.span == (text.index(" wrap ") + 1, text.index(" wrap ") + 5)  # the whole word
    assert not any("dropped" in n for n in res.notes)
    if spelling == "name" and norm_label(spec.label_name(role)) != norm_label(role):
        assert any(f"{spec.label_name(role)!r} -> {role!r}" in n for n in res.notes)


def test_every_bundled_label_has_a_name() -> None:
    for sets in (MINI_SETS, TINY_SETS):
        for spec in sets.values():
            assert set(spec.label_names) == set(spec.labels()), spec.id


def test_bundled_names_map_back_to_their_labels() -> None:
    for spec in [*MINI_SETS.values(), *TINY_SETS.values()]:
        for labels in (spec.entity_types, spec.relation_types, list(spec.event_types)):
            m = LabelMap(labels, spec.label_names)
            for label in labels:
                assert m.resolve(spec.label_name(label)) == label
                assert m.resolve(label) == label


# --------------------------------------------------------------------------- roles named like keys

KEYLIKE = ["Entity", "Object", "Subject", "Type", "Label", "Trigger", "Relation"]


@pytest.mark.parametrize("role", KEYLIKE)
def test_roles_named_like_field_keys_are_kept(role: str) -> None:
    spec = SetSpec(id="x", modalities=["text"], task="ee", count=0,
                   event_types={"opening": ["Agent", role]})
    text = "The boy will unpack the toy."
    raw = f"(Type: opening, Trigger: unpack, Agent: boy, {role}: toy)"
    if role == "Trigger":  # a second Trigger key is the role; the first is the trigger
        raw = "(Type: opening, Trigger: unpack, Agent: boy, Trigger: toy)"
    res = parse_output(raw, "ee", spec, text)
    assert evt(res.annotation) == [("opening", "unpack", [("Agent", "boy"), (role, "toy")])]
    assert res.notes == []


def test_m2e2_entity_role_is_kept() -> None:
    spec = MINI_SETS["ti-ee"]
    text = "Obama met Putin in Beijing on Monday."
    res = parse_output("(Type: Contact:Meet, Trigger: met, Entity: Obama, Entity: Putin, "
                       "Place: Beijing)", "ee", spec, text)
    assert evt(res.annotation) == [("Contact:Meet", "met", [("Entity", "Obama"), ("Entity", "Putin"),
                                                            ("Place", "Beijing")])]


def test_event_type_key_variants_and_positional_type_with_colon() -> None:
    spec = MINI_SETS["ti-ee"]
    text = "Obama met Putin."
    for raw in ("(Event type: Contact:Meet, Trigger: met, Entity: Obama)",
                "(Contact:Meet, met, Entity: Obama)",
                "(Contact:Meet, Trigger: met, (Entity, Obama))",
                "(event_type=Contact:Meet, trigger=met, Entity=Obama)",
                "(Type: meet, Trigger: met, (Entity: Obama))"):
        res = parse_output(raw, "ee", spec, text)
        assert evt(res.annotation) == [("Contact:Meet", "met", [("Entity", "Obama")])], raw


def test_argument_without_role_is_noted() -> None:
    spec = MINI_SETS["v-ee"]
    res = parse_output("(walk, walks, man)", "ee", spec, "A man walks.")
    assert evt(res.annotation) == [("walk", "walks", [])]
    assert any("'man'" in n and "without a role" in n for n in res.notes)


def test_unknown_key_is_a_role_dropped_with_a_note() -> None:
    spec = MINI_SETS["v-ee"]
    res = parse_output("(Type: walk, Trigger: walks, Agent: man, Speed: fast)", "ee", spec,
                       "A man walks fast.")
    assert evt(res.annotation) == [("walk", "walks", [("Arg0", "man")])]
    assert any("(Speed, fast)" in n and "role not in the inventory" in n for n in res.notes)


def test_empty_argument_is_noted() -> None:
    spec = MINI_SETS["ti-ee"]
    res = parse_output("(Type: Contact:Meet, Trigger: met, Entity: Obama, Place: None)", "ee", spec,
                       "Obama met.")
    assert evt(res.annotation) == [("Contact:Meet", "met", [("Entity", "Obama")])]
    assert any("skipped empty argument (Place, None)" in n for n in res.notes)


# --------------------------------------------------------------------------- anchoring


@pytest.mark.parametrize(
    ("text", "surface", "span", "noted"),
    [
        ("The boy is unpacking a box; later he will unpack it.", "unpack", (42, 48), False),
        ("Unpacking first, then UNPACK again.", "unpack", (22, 28), False),  # case-insensitive word
        ("The boy is unpacking a toy.", "unpack", (11, 17), True),  # part of a word: last resort
        ("Ann met Anna and Ann.", "Ann", (0, 3), False),
        ("Anna met Ann.", "Ann", (9, 12), False),
        ("It costs $5 (five) today.", "$5", (9, 11), False),  # non-word edge: plain match
        ("Mr. Li arrived; Mr. Lima left.", "Mr. Li", (0, 6), False),
    ],
)
def test_whole_word_anchoring(text: str, surface: str, span: tuple[int, int], noted: bool) -> None:
    spec = SetSpec(id="x", modalities=["text"], task="ner", count=0, entity_types=["X"])
    res = parse_output(f"({surface}, X)", "ner", spec, text)
    m = res.annotation.entities[0]
    assert m.span == span and m.text == text[span[0] : span[1]]
    assert any("inside the word" in n for n in res.notes) == noted


def test_part_of_word_note_names_the_word() -> None:
    spec = SetSpec(id="x", modalities=["text"], task="ee", count=0,
                   event_types={"opening": ["Agent", "Object"]})
    res = parse_output("(Type: opening, Trigger: unpack, Agent: boy, Object: toy)", "ee", spec,
                       "The boy is unpacking a toy.")
    assert res.annotation.events[0].trigger.span == (11, 17)
    assert any("'unpack' inside the word 'unpacking'" in n for n in res.notes)


def test_repeated_whole_words_take_successive_occurrences() -> None:
    spec = SetSpec(id="x", modalities=["text"], task="ner", count=0, entity_types=["PER"])
    text = "Bo, Bob and Bo."
    res = parse_output("(Bo, PER)(Bo, PER)", "ner", spec, text)
    assert [m.span for m in res.annotation.entities] == [(0, 2), (12, 14)]


# --------------------------------------------------------------------------- <concept>


def test_concept_invokes_grounding_in_every_medium() -> None:
    spec = SetSpec(id="tia-ner", modalities=["text", "image", "audio"], task="ner", count=0,
                   entity_types=["PER", "LOC"], label_names={"PER": "person", "LOC": "location"})
    res = parse_output("(Trump <concept>, person)(Singapore, location)", "ner", spec,
                       "Trump landed in Singapore.")
    assert ents(res.annotation) == [("Trump", "PER"), ("Singapore", "LOC")]
    assert [(i.module, i.modality, i.target) for i in res.invocations] == [
        ("<concept>", "image", "Trump"), ("<concept>", "audio", "Trump")]


def test_concept_in_key_value_event() -> None:
    spec = MINI_SETS["ti-ee"]
    res = parse_output("(Type: meet, Trigger: met, Entity: Trump <concept>, Entity: Kim Jong-un "
                       "<concept>, Place: Singapore)", "ee", spec, "Trump met Kim Jong-un in Singapore.")
    assert evt(res.annotation) == [("Contact:Meet", "met", [("Entity", "Trump"),
                                                            ("Entity", "Kim Jong-un"),
                                                            ("Place", "Singapore")])]
    assert [i.target for i in res.invocations] == ["Trump", "Kim Jong-un"]
    assert {i.modality for i in res.invocations} == {"image"}


def test_concept_in_relation_triplet() -> None:
    spec = MINI_SETS["ia-re"]
    res = parse_output("(Lena Ros<concept>, member_of, Vantor Club<concept>)", "re", spec, None)
    assert rels(res.annotation) == [("Lena Ros", "/per/org/member_of", "Vantor Club")]
    assert [(i.modality, i.target) for i in res.invocations] == [
        ("image", "Lena Ros"), ("audio", "Lena Ros"), ("image", "Vantor Club"),
        ("audio", "Vantor Club")]


def test_concept_without_media_or_mention_is_noted() -> None:
    spec = SetSpec(id="t-ner", modalities=["text"], task="ner", count=0, entity_types=["PER"])
    res = parse_output("<concept> (Ann <concept>, PER)", "ner", spec, "Ann.")
    assert ents(res.annotation) == [("Ann", "PER")] and res.invocations == []
    assert any("no mention before it" in n for n in res.notes)
    assert any("no image, video or audio" in n for n in res.notes)


# --------------------------------------------------------------------------- special tokens


@pytest.mark.parametrize(
    ("raw", "token"),
    [
        ("UIE (Mara Velto, PER)", "UIE"),
        ("<image>\n(Mara Velto, PER)</s>", "</s>"),
        ("(Mara Velto, PER)<|im_end|>", "<|im_end|>"),
        ("[INST] (Mara Velto, PER)", "[INST]"),
        ("<Instruction>(Mara Velto, PER)</Instruction>", "<Instruction>"),
        ("(Mara Velto, PER)</Module>", "</Module>"),
        ("<Module>ImageSegmentation</Module> (Mara Velto, PER)", "has no <Instruction>"),
        ("<think>The text names one person (Mara Velto).</think>(Mara Velto, PER)", "<think>"),
    ],
)
def test_special_tokens_are_stripped_and_noted(raw: str, token: str) -> None:
    spec = MINI_SETS["ti-ner"]
    res = parse_output(raw, "ner", spec, "Mara Velto joined Quillon Labs.")
    assert ents(res.annotation) == [("Mara Velto", "PER")]
    assert res.annotation.entities[0].text == "Mara Velto"
    assert any(token in n for n in res.notes), res.notes


def test_meta_response_still_grounds_after_special_tokens() -> None:
    spec = MINI_SETS["ti-ner"]
    raw = ("UIE (Mara Velto, person)</s>\n<Module>ImageSegmentation</Module>"
           "<Instruction>Segment: Mara Velto</Instruction>")
    res = parse_output(raw, "ner", spec, "Mara Velto joined Quillon Labs.")
    assert ents(res.annotation) == [("Mara Velto", "PER")]
    assert [(i.modality, i.target) for i in res.invocations] == [("image", "Mara Velto")]


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize(
    ("sid", "task", "raw", "expected"),
    [
        ("ti-ner", "ner", "(Mara Velto, person)(Lumeria, location)",
         [("Mara Velto", "PER"), ("Lumeria", "LOC")]),
        ("ti-ner", "ner", "(Mara Velto, Person)(Quillon Labs, Organisation)",
         [("Mara Velto", "PER"), ("Quillon Labs", "ORG")]),  # case, British spelling (close)
        ("ta-ner", "ner", "(Darrow, geopolitical entity)(Darrow, geo-political entity)",
         [("Darrow", "GPE"), ("Darrow", "GPE")]),
        ("ti-ner", "ner", "(person, Mara Velto)", [("Mara Velto", "PER")]),  # reversed, by name
        ("ti-re", "re", "(Mara Velto, peer, Tavi Brenn)", [("Mara Velto", "/per/per/peer", "Tavi Brenn")]),
        ("ti-re", "re", "(Mara Velto, couples, Tavi Brenn)",
         [("Mara Velto", "/per/per/couple", "Tavi Brenn")]),
        ("ti-re", "re", "(Mara Velto, member of, Quillon Labs)",
         [("Mara Velto", "/per/org/member_of", "Quillon Labs")]),
        ("ta-re", "re", "(Iris Kade, employee_of, Orvex)", [("Iris Kade", "per:employee_of", "Orvex")]),
        ("ta-re", "re", "(Iris Kade, spouses, Olan Mere)", [("Iris Kade", "per:spouse", "Olan Mere")]),
        ("i-re", "re", "(cat, in front of, cup)", [("cat", "in the front of", "cup")]),
        ("i-re", "re", "(cat, left of, cup)", []),  # two labels are as close: none is chosen
    ],
)
def test_natural_names_and_variants_map_to_the_inventory(sid: str, task: str, raw: str,
                                                         expected: list[Any]) -> None:
    spec = MINI_SETS[sid]
    text = "Mara Velto joined Quillon Labs in Lumeria with Tavi Brenn. Iris Kade, Orvex, Olan Mere, Darrow."
    res = parse_output(raw, task, spec, text)
    assert (ents if task == "ner" else rels)(res.annotation) == expected
    if expected:
        assert any("->" in n for n in res.notes)
    else:
        assert any("not in the inventory" in n for n in res.notes)


def test_mapping_note_says_how() -> None:
    res = parse_output("(Mara Velto, peer, Tavi Brenn)", "re", MINI_SETS["ti-re"], None)
    assert "relation 'peer' -> '/per/per/peer' (name)" in res.notes


# --------------------------------------------------------------------------- step by step

STEP = (
    "Let's think step by step.\n"
    "1. The image shows two men (one in a suit) shaking hands in front of flags.\n"
    "2. The text says Obama met Putin in Beijing; 'met' is the trigger of a Meet event.\n"
    "3. Obama and Putin are the entities (participants), Beijing is the place.\n"
    "Therefore, the answer is: (Type: Contact:Meet, Trigger: met, Entity: Obama, Entity: Putin, "
    "Place: Beijing)"
)


def test_step_by_step_prose_before_the_tuples() -> None:
    res = parse_output(STEP, "ee", MINI_SETS["ti-ee"], "Obama met Putin in Beijing.")
    assert evt(res.annotation) == [("Contact:Meet", "met", [("Entity", "Obama"), ("Entity", "Putin"),
                                                            ("Place", "Beijing")])]
    assert any("characters of reasoning" in n for n in res.notes)
    assert not any("dropped" in n for n in res.notes)


@pytest.mark.parametrize("marker", ["Answer:", "Final answer:", "**Output:**", "Output:\n",
                                    "So the final answer is"])
def test_answer_markers(marker: str) -> None:
    raw = f"First, Mara Velto (a name) is a person. Lumeria is a place.\n{marker} (Mara Velto, person)"
    res = parse_output(raw, "ner", MINI_SETS["ti-ner"], "Mara Velto joined Quillon Labs in Lumeria.")
    assert ents(res.annotation) == [("Mara Velto", "PER")]


def test_prose_without_marker_notes_what_it_drops() -> None:
    raw = "The text has one person (the first words). (Mara Velto, person)"
    res = parse_output(raw, "ner", MINI_SETS["ti-ner"], "Mara Velto joined Quillon Labs in Lumeria.")
    assert ents(res.annotation) == [("Mara Velto", "PER")]
    assert any("the first words" in n for n in res.notes)


# --------------------------------------------------------------------------- the paper's style

MNRE_FULL = SetSpec(
    id="ti-re", modalities=["text", "image"], task="re", count=0, entity_types=["PER", "ORG", "LOC", "MISC"],
    relation_types=["/per/per/peer", "/per/org/member_of", "/per/misc/awarded", "/per/loc/place_of_birth",
                    "/org/loc/locate_at", "/per/per/couple"],
    label_names={"PER": "person", "ORG": "organization", "LOC": "location", "MISC": "miscellaneous",
                 "/per/per/peer": "peer", "/per/org/member_of": "member_of", "/per/misc/awarded": "award",
                 "/per/loc/place_of_birth": "place_of_birth", "/org/loc/locate_at": "locate_at",
                 "/per/per/couple": "couple"})
VIDEO_EE = SetSpec(id="v-ee", modalities=["video"], task="ee", count=0,
                   event_types={"opening": ["Agent", "Object", "Place"],
                                "kicking": ["Agent", "Object", "Place"]})
TV_EE = SetSpec(id="tv-ee", modalities=["text", "video"], task="ee", count=0,
                event_types={"opening": ["Agent", "Object", "Place"]})
TWITTER = SetSpec(id="ti-ner", modalities=["text", "image"], task="ner", count=0,
                  entity_types=["PER", "ORG", "LOC", "MISC"],
                  label_names={"PER": "person", "ORG": "organization", "LOC": "location",
                               "MISC": "miscellaneous"})
M2E2 = MINI_SETS["ti-ee"]
SPEECH_NER = MINI_SETS["ta-ner"]

# (id, spec, text, raw answer, expected items, expected invocations (modality, target))
PAPER: list[tuple[str, SetSpec, str | None, str, list[Any], list[tuple[str, str]]]] = [
    ("twitter-ner-concept", TWITTER, "Trump meets Kim Jong-un in Singapore today #summit",
     "UIE (Trump <concept>, person), (Kim Jong-un <concept>, person), (Singapore, location)",
     [("Trump", "PER"), ("Kim Jong-un", "PER"), ("Singapore", "LOC")],
     [("image", "Trump"), ("image", "Kim Jong-un")]),
    ("mnre-peer", MNRE_FULL, "Trump shakes hands with Kim Jong-un at the summit.",
     "(Trump, peer, Kim Jong-un)\n<Module>ImageSegmentation</Module>"
     "<Instruction>Segment: Trump</Instruction><Instruction>Segment: Kim Jong-un</Instruction>",
     [("Trump", "/per/per/peer", "Kim Jong-un")], [("image", "Trump"), ("image", "Kim Jong-un")]),
    ("mnre-member-of", MNRE_FULL, "Obama speaks at the convention of the Democratic Party.",
     "(subject entity: Obama, relation: member_of, object entity: Democratic Party)",
     [("Obama", "/per/org/member_of", "Democratic Party")], []),
    ("mnre-award", MNRE_FULL, "Ronaldo lifts the Ballon d'Or in Paris.",
     "(Ronaldo <concept>, award, Ballon d'Or <concept>)",
     [("Ronaldo", "/per/misc/awarded", "Ballon d'Or")], [("image", "Ronaldo"), ("image", "Ballon d'Or")]),
    ("video-opening", VIDEO_EE, None,
     "(Type: opening, Trigger: unpack, Agent: boy, Object: toy)\n<Module>VideoTracking</Module>"
     "<Instruction>Track: boy</Instruction><Instruction>Track: toy</Instruction>",
     [("opening", "unpack", [("Agent", "boy"), ("Object", "toy")])], [("video", "boy"), ("video", "toy")]),
    ("text-video-opening", TV_EE, "A boy is unpacking a toy in the living room.",
     "(Type: opening, Trigger: unpacking, Agent: boy <concept>, Object: toy <concept>, Place: living room)",
     [("opening", "unpacking", [("Agent", "boy"), ("Object", "toy"), ("Place", "living room")])],
     [("video", "boy"), ("video", "toy")]),
    ("video-kicking", VIDEO_EE, None,
     "(Type: kicking, Trigger: kick, Agent: man in red, Object: ball, Place: field)",
     [("kicking", "kick", [("Agent", "man in red"), ("Object", "ball"), ("Place", "field")])], []),
    ("m2e2-meet", M2E2, "Obama met Putin in Beijing on Monday.",
     "(Type: Contact:Meet, Trigger: met, Entity: Obama <concept>, Entity: Putin <concept>, Place: Beijing)",
     [("Contact:Meet", "met", [("Entity", "Obama"), ("Entity", "Putin"), ("Place", "Beijing")])],
     [("image", "Obama"), ("image", "Putin")]),
    ("m2e2-demonstrate", M2E2, "Thousands protested in Kiev against the law.",
     "UIE (Type: demonstrate, Trigger: protested, Entity: Thousands, Place: Kiev)</s>",
     [("Conflict:Demonstrate", "protested", [("Entity", "Thousands"), ("Place", "Kiev")])], []),
    ("m2e2-step-by-step", M2E2, "Obama met Putin in Beijing.", STEP,
     [("Contact:Meet", "met", [("Entity", "Obama"), ("Entity", "Putin"), ("Place", "Beijing")])], []),
    ("speech-ner", SPEECH_NER, "Barack Obama was born in Hawaii.",
     "(Barack Obama, person)(Hawaii, geopolitical entity)\n<Module>AudioSegmentation</Module>"
     "<Instruction>Segment: Barack Obama</Instruction><Instruction>Segment: Hawaii</Instruction>",
     [("Barack Obama", "PER"), ("Hawaii", "GPE")], [("audio", "Barack Obama"), ("audio", "Hawaii")]),
]


@pytest.mark.parametrize("case", PAPER, ids=[c[0] for c in PAPER])
def test_paper_style_answers_survive(case: tuple[str, SetSpec, str | None, str, list[Any],
                                                 list[tuple[str, str]]]) -> None:
    _, spec, text, raw, expected, invocations = case
    res = parse_output(raw, spec.task, spec, text)
    view = {"ner": ents, "re": rels, "ee": evt}[spec.task]
    assert res.error is None
    assert view(res.annotation) == expected
    assert [(i.modality, i.target) for i in res.invocations] == invocations
    assert not any("dropped" in n for n in res.notes), res.notes
    for m in res.annotation.mentions():
        assert "<" not in m.text and "UIE" not in m.text
        if text is not None:
            assert m.span is not None and text[m.span[0] : m.span[1]] == m.text


def test_paper_answers_count() -> None:
    assert len(PAPER) == 11
    assert len(ROLE_CASES) * 2 + len(KEYLIKE) >= 40


def test_concept_grounds_the_mention_through_the_grounder(tiny_dir: Path) -> None:
    from muie_bench.benchmark import load_benchmark
    from muie_bench.schema import RLE
    from muie_bench.systems.grounding_invocations import apply_groundings

    bench = load_benchmark(tiny_dir)
    inst = bench.get("ti-ner-0")
    gold = next(json.loads(line) for line in (tiny_dir / "instances.jsonl").open()
                if '"ti-ner-0"' in line)
    mask = RLE.model_validate(gold["gold"]["entities"][0]["image_mask"])
    calls: list[tuple[str, str]] = []

    class Phrase:
        def ground(self, modality: Any, phrase: str, mention_type: Any, instance: Any,
                   benchmark: Any) -> Any:
            calls.append((modality, phrase))
            return mask if phrase == "Mara Velto" else None

    res = parse_output("UIE (Mara Velto <concept>, person)(Quillon Labs, organization)", "ner",
                       bench.manifest.set("ti-ner"), inst.text)
    recs = apply_groundings(res.annotation, res.invocations, Phrase(), inst, bench)
    assert calls == [("image", "Mara Velto")]
    assert recs[0]["module"] == "<concept>" and recs[0]["found"] is True
    assert res.annotation.entities[0].image_mask == mask
    assert res.annotation.entities[1].image_mask is None


def test_generator_writes_the_committed_sets_with_their_names() -> None:
    pytest.importorskip("numpy")
    from muie_bench.datagen.build import manifest_dict

    committed = json.loads(MINI.read_text())
    gen = committed["generator"]
    sets = [s["id"] for s in committed["sets"]]
    rebuilt = manifest_dict(gen["size"], gen["seed"], gen["per_set"], sets, {}, {})
    assert json.dumps(rebuilt["sets"], indent=1) == json.dumps(committed["sets"], indent=1)
