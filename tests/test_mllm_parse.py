"""Parser of MLLM outputs: real-world-shaped outputs and the annotations they must give."""

from __future__ import annotations

from typing import Any

import pytest

from muie_bench.schema import Annotation, SetSpec
from muie_bench.systems.parse import parse_output, scan_tuples, split_meta

NER = SetSpec(id="ti-ner", modalities=["text", "image"], task="ner", count=0,
              entity_types=["PER", "ORG", "LOC", "MISC"])
RE = SetSpec(id="ta-re", modalities=["text", "audio"], task="re", count=0,
             relation_types=["per:employee_of", "org:city_of_headquarters", "located_in"],
             entity_types=["PER", "ORG", "GPE"])
EE = SetSpec(id="ti-ee", modalities=["text", "image"], task="ee", count=0,
             event_types={"Conflict:Attack": ["Attacker", "Target", "Instrument", "Place"],
                          "Movement:Transport": ["Agent", "Artifact", "Destination", "Origin"]})
SPECS = {"ner": NER, "re": RE, "ee": EE}

T_NER = "Mara Velto joined Quillon Labs in Lumeria, and Mara Velto stayed."
T_RE = "Iris Kade works for Orvex, which is based in Darrow."
T_EE = "Soldiers fired rockets at the convoy near Basra, then trucks moved the wounded to Baghdad."


def ner(ann: Annotation) -> list[tuple[str, str | None, tuple[int, int] | None]]:
    return [(m.text, m.type, m.span) for m in ann.entities]


def rel(ann: Annotation) -> list[tuple[str, str, str]]:
    return [(ann.entity(r.head).text, r.type, ann.entity(r.tail).text) for r in ann.relations]


def evt(ann: Annotation) -> list[tuple[str, str, list[tuple[str, str]]]]:
    return [(e.type, e.trigger.text, [(a.role, ann.entity(a.mention).text) for a in e.arguments])
            for e in ann.events]


VIEW = {"ner": ner, "re": rel, "ee": evt}
MV, QL, LU = ("Mara Velto", "PER", (0, 10)), ("Quillon Labs", "ORG", (18, 30)), \
    ("Lumeria", "LOC", (34, 41))
MV2 = ("Mara Velto", "PER", (47, 57))
EMP = ("Iris Kade", "per:employee_of", "Orvex")
HQ = ("Orvex", "org:city_of_headquarters", "Darrow")
ATT = ("Conflict:Attack", "fired", [("Attacker", "Soldiers"), ("Target", "convoy"),
                                    ("Instrument", "rockets")])
TRA = ("Movement:Transport", "moved", [("Artifact", "wounded"), ("Destination", "Baghdad")])

# (case id, task, text, raw output, expected view, expected parse error substring or None)
CASES: list[tuple[str, str, str | None, str | None, Any, str | None]] = [
    # ---------------------------------------------------------------- NER well-formed
    ("ner-plain", "ner", T_NER, "(Mara Velto, PER)(Quillon Labs, ORG)(Lumeria, LOC)",
     [MV, QL, LU], None),
    ("ner-spaces-newlines", "ner", T_NER, "(Mara Velto, PER)\n(Quillon Labs, ORG)\n (Lumeria, LOC)",
     [MV, QL, LU], None),
    ("ner-comma-separated", "ner", T_NER, "(Mara Velto, PER), (Quillon Labs, ORG), (Lumeria, LOC).",
     [MV, QL, LU], None),
    ("ner-repeated-surface", "ner", T_NER, "(Mara Velto, PER)(Mara Velto, PER)", [MV, MV2], None),
    ("ner-preamble", "ner", T_NER,
     "Sure! Here are the entities I found:\n(Mara Velto, PER)(Lumeria, LOC)\nHope this helps.",
     [MV, LU], None),
    ("ner-quotes", "ner", T_NER, "(\"Mara Velto\", \"PER\")('Quillon Labs', 'ORG')", [MV, QL], None),
    ("ner-smart-quotes", "ner", T_NER, "(“Mara Velto”, “PER”)", [MV], None),
    ("ner-lowercase-label", "ner", T_NER, "(Mara Velto, per)(Quillon Labs, Org)", [MV, QL], None),
    ("ner-case-insensitive-anchor", "ner", T_NER, "(mara velto, PER)", [MV], None),
    ("ner-trailing-comma", "ner", T_NER, "(Mara Velto, PER,)(Lumeria, LOC, )", [MV, LU], None),
    ("ner-reversed", "ner", T_NER, "(PER, Mara Velto)(LOC, Lumeria)", [MV, LU], None),
    ("ner-markdown-bold", "ner", T_NER, "- (**Mara Velto**, **PER**)\n- (Lumeria, LOC)", [MV, LU],
     None),
    ("ner-key-prefix", "ner", T_NER, "(entity: Mara Velto, label: PER)", [MV], None),
    ("ner-bracket-list", "ner", T_NER, "[(Mara Velto, PER), (Lumeria, LOC)]", [MV, LU], None),
    ("ner-semicolon", "ner", T_NER, "(Mara Velto; PER)(Lumeria | LOC)", [MV, LU], None),
    ("ner-not-in-text", "ner", T_NER, "(Zed Orin, PER)", [("Zed Orin", "PER", None)], None),
    ("ner-comma-in-entity", "ner", "Acme, Inc. hired Bo.", "(Acme, Inc., ORG)(Bo, PER)",
     [("Acme, Inc.", "ORG", (0, 10)), ("Bo", "PER", (17, 19))], None),
    ("ner-parens-in-entity", "ner", "Apple (AAPL) rose.", "(Apple (AAPL), ORG)",
     [("Apple (AAPL)", "ORG", (0, 12))], None),
    ("ner-wrong-label-dropped", "ner", T_NER, "(Mara Velto, PERSON)(Lumeria, LOC)", [LU], None),
    ("ner-truncated", "ner", T_NER, "(Mara Velto, PER)(Quillon Labs, OR", [MV], None),
    ("ner-truncated-first", "ner", T_NER, "(Mara Vel", [], "truncated"),
    ("ner-none", "ner", T_NER, "None", [], None),
    ("ner-no-entities-sentence", "ner", T_NER, "There are no entities in the given text.", [], None),
    ("ner-empty-string", "ner", T_NER, "", [], None),
    ("ner-prose-only", "ner", T_NER, "I am sorry, I cannot view images.", [], "no (…) tuples"),
    ("ner-no-output", "ner", T_NER, None, [], "no output"),
    ("ner-image-only", "ner", None, "(person, PER)(dog, MISC)",
     [("person", "PER", None), ("dog", "MISC", None)], None),
    ("ner-lines-paren", "ner", T_NER, "Entities:\n- Mara Velto (PER)\n- Lumeria (LOC)",
     [MV, LU], None),
    ("ner-lines-colon", "ner", T_NER, "1. Mara Velto: person\n2. Quillon Labs: ORG\n3. Lumeria: LOC",
     [QL, LU], None),
    ("ner-lines-label-first", "ner", T_NER, "PER: Mara Velto\nLOC: Lumeria\nMISC: none",
     [MV, LU], None),
    ("ner-lines-dash", "ner", T_NER, "* **Quillon Labs** - ORG", [QL], None),
    # ---------------------------------------------------------------- NER JSON
    ("ner-json-objects", "ner", T_NER,
     '[{"entity": "Mara Velto", "type": "PER"}, {"entity": "Lumeria", "type": "LOC"}]',
     [MV, LU], None),
    ("ner-json-fenced", "ner", T_NER,
     'Output:\n```json\n{"entities": [{"text": "Quillon Labs", "label": "org"}]}\n```',
     [QL], None),
    ("ner-json-lists", "ner", T_NER, '[["Mara Velto", "PER"], ["Lumeria", "LOC"]]', [MV, LU], None),
    ("ner-json-empty", "ner", T_NER, '{"entities": []}', [], None),
    ("ner-json-after-parenthesised-prose", "ner", T_NER,
     'Here (as requested) is the answer: {"entities": [{"entity": "Lumeria", "type": "LOC"}]}',
     [LU], None),
    ("ner-json-paren-value", "ner", "Apple (AAPL) rose.",
     '[{"entity": "Apple (AAPL)", "type": "ORG"}]', [("Apple (AAPL)", "ORG", (0, 12))], None),
    # ---------------------------------------------------------------- RE
    ("re-plain", "re", T_RE,
     "(Iris Kade, per:employee_of, Orvex)(Orvex, org:city_of_headquarters, Darrow)",
     [EMP, HQ], None),
    ("re-label-variants", "re", T_RE,
     "(Iris Kade, per employee of, Orvex)(Orvex, ORG:CITY-OF-HEADQUARTERS, Darrow)", [EMP, HQ], None),
    ("re-relation-first", "re", T_RE, "(per:employee_of, Iris Kade, Orvex)", [EMP], None),
    ("re-quoted", "re", T_RE, "('Iris Kade', 'per:employee_of', 'Orvex')", [EMP], None),
    ("re-key-prefix", "re", T_RE, "(subject: Iris Kade, relation: per:employee_of, object: Orvex)",
     [EMP], None),
    ("re-unknown-relation", "re", T_RE, "(Iris Kade, friend_of, Orvex)(Orvex, located_in, Darrow)",
     [("Orvex", "located_in", "Darrow")], None),
    ("re-too-short", "re", T_RE, "(Iris Kade, Orvex)", [], None),
    ("re-comma-in-object", "re", "Bo works for Acme, Inc. now.",
     "(Bo, per:employee_of, Acme, Inc.)", [("Bo", "per:employee_of", "Acme, Inc.")], None),
    ("re-json", "re", T_RE,
     '{"relations": [{"subject": "Iris Kade", "relation": "per:employee_of", "object": "Orvex"}]}',
     [EMP], None),
    ("re-json-head-tail", "re", T_RE,
     '[{"head": {"text": "Orvex"}, "type": "located_in", "tail": {"text": "Darrow"}}]',
     [("Orvex", "located_in", "Darrow")], None),
    ("re-truncated", "re", T_RE, "(Iris Kade, per:employee_of, Orvex)(Orvex, org:city_of", [EMP],
     None),
    ("re-no-relations", "re", T_RE, "No relations found.", [], None),
    ("re-typed-entities", "re", T_RE, "(Iris Kade (PER), per:employee_of, Orvex (org))",
     [EMP], None),
    ("re-parens-not-a-type", "re", "Bo works for Apple (AAPL).",
     "(Bo, per:employee_of, Apple (AAPL))", [("Bo", "per:employee_of", "Apple (AAPL)")], None),
    # ---------------------------------------------------------------- EE
    ("ee-nested", "ee", T_EE,
     "(Conflict:Attack, fired, (Attacker, Soldiers), (Target, convoy), (Instrument, rockets))",
     [ATT], None),
    ("ee-two-events", "ee", T_EE,
     "(Conflict:Attack, fired, (Attacker, Soldiers), (Target, convoy), (Instrument, rockets))"
     "(Movement:Transport, moved, (Artifact, wounded), (Destination, Baghdad))", [ATT, TRA], None),
    ("ee-bracketed-args", "ee", T_EE,
     "(Movement:Transport, moved, [(Artifact, wounded), (Destination, Baghdad)])", [TRA], None),
    ("ee-colon-args", "ee", T_EE, "(Movement:Transport, moved, Artifact: wounded, Destination: Baghdad)",
     [TRA], None),
    ("ee-type-case", "ee", T_EE, "(movement transport, moved, (artifact, wounded), "
     "(DESTINATION, Baghdad))", [TRA], None),
    ("ee-reversed-pairs", "ee", T_EE, "(Movement:Transport, moved, (wounded, Artifact), "
     "(Baghdad, Destination))", [TRA], None),
    ("ee-unknown-role-dropped", "ee", T_EE,
     "(Movement:Transport, moved, (Vehicle, trucks), (Destination, Baghdad))",
     [("Movement:Transport", "moved", [("Destination", "Baghdad")])], None),
    ("ee-none-argument-skipped", "ee", T_EE,
     "(Movement:Transport, moved, (Origin, None), (Destination, Baghdad))",
     [("Movement:Transport", "moved", [("Destination", "Baghdad")])], None),
    ("ee-unknown-type", "ee", T_EE, "(Life:Die, killed, (Victim, convoy))", [], None),
    ("ee-trigger-only", "ee", T_EE, "(Conflict:Attack, fired)", [("Conflict:Attack", "fired", [])],
     None),
    ("ee-json", "ee", T_EE,
     '[{"event_type": "Movement:Transport", "trigger": "moved", "arguments": '
     '[{"role": "Artifact", "argument": "wounded"}, {"role": "Destination", "text": "Baghdad"}]}]',
     [TRA], None),
    ("ee-json-role-dict", "ee", T_EE,
     '{"events": [{"type": "Movement:Transport", "trigger": {"text": "moved"}, '
     '"arguments": {"Artifact": "wounded", "Destination": ["Baghdad"]}}]}', [TRA], None),
    ("ee-truncated", "ee", T_EE, "(Conflict:Attack, fired, (Attacker, Soldiers), (Target, convoy), "
     "(Instrument, rockets))(Movement:Transport, moved, (Artifact, wou", [ATT], None),
    ("ee-shared-argument", "ee", T_EE,
     "(Conflict:Attack, fired, (Attacker, Soldiers))(Movement:Transport, moved, (Agent, Soldiers))",
     [("Conflict:Attack", "fired", [("Attacker", "Soldiers")]),
      ("Movement:Transport", "moved", [("Agent", "Soldiers")])], None),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_parse_cases(case: tuple[str, str, str | None, str | None, Any, str | None]) -> None:
    _, task, text, raw, expected, error = case
    res = parse_output(raw, task, SPECS[task], text)
    assert VIEW[task](res.annotation) == expected
    if error is None:
        assert res.error is None
    else:
        assert res.error is not None and error in res.error
        assert res.annotation.is_empty()


def test_case_count() -> None:
    assert len(CASES) >= 40


def test_spans_cover_mention_text() -> None:
    res = parse_output("(mara velto, PER)(quillon labs, ORG)", "ner", NER, T_NER)
    for m in res.annotation.entities:
        assert m.span is not None and T_NER[m.span[0] : m.span[1]] == m.text


def test_shared_entities_in_re() -> None:
    res = parse_output("(Iris Kade, per:employee_of, Orvex)(Orvex, located_in, Darrow)", "re", RE,
                       T_RE)
    assert [m.text for m in res.annotation.entities] == ["Iris Kade", "Orvex", "Darrow"]
    assert res.annotation.relations[0].tail == res.annotation.relations[1].head


def test_dropped_labels_are_noted() -> None:
    res = parse_output("(Mara Velto, PERSON)", "ner", NER, T_NER)
    assert res.error is None and res.annotation.is_empty()
    assert any("PERSON" in n for n in res.notes)


def test_truncation_is_noted() -> None:
    res = parse_output("(Mara Velto, PER)(Lume", "ner", NER, T_NER)
    assert any("truncated" in n for n in res.notes)


# --------------------------------------------------------------------------- meta-responses

META = (
    "(Mara Velto, PER)(Quillon Labs, ORG)\n"
    "<Module>ImageSegmentation</Module><Instruction>Segment the person: Mara Velto</Instruction>"
    "<Instruction>Segment the organization: \"Quillon Labs\".</Instruction>\n"
    "<Module>AudioSegmentation</Module><Instruction>Locate the speech of: Lumeria</Instruction>"
)


def test_meta_response_invocations_and_stripping() -> None:
    text, invs = split_meta(META)
    assert "<" not in text and "Segment" not in text
    assert [(i.module, i.modality, i.target) for i in invs] == [
        ("ImageSegmentation", "image", "Mara Velto"),
        ("ImageSegmentation", "image", "Quillon Labs"),
        ("AudioSegmentation", "audio", "Lumeria"),
    ]
    res = parse_output(META, "ner", NER, T_NER)
    assert ner(res.annotation) == [MV, QL]
    assert len(res.invocations) == 3


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<module> VideoTracking </module>\n<instruction>Track: red car</instruction>",
         [("VideoTracking", "video", "red car")]),
        ("<Module>Image Segmentation</Module><Instruction>Segment the dog</Instruction>",
         [("Image Segmentation", "image", "dog")]),
        ("<Module>ImageSegmentation</Module><Instruction>Segment: bag",  # truncated
         [("ImageSegmentation", "image", "bag")]),
        ("<Module>DepthEstimation</Module><Instruction>Estimate: wall</Instruction>",
         [("DepthEstimation", None, "wall")]),
        ("<Instruction>Segment: cup</Instruction>", [("", None, "cup")]),
        ("<Module>AudioSegmentation</Module><Instruction>Segment: 12:30 train</Instruction>",
         [("AudioSegmentation", "audio", "12:30 train")]),
    ],
)
def test_meta_response_variants(raw: str, expected: list[tuple[str, str | None, str]]) -> None:
    text, invs = split_meta(raw)
    assert [(i.module, i.modality, i.target) for i in invs] == expected
    assert "<" not in text


def test_scan_nested_and_truncated() -> None:
    groups, truncated = scan_tuples("x (a, (b, c), d) y (e, f")
    assert groups == [["a", ["b", "c"], "d"]]
    assert truncated


def test_typed_re_entities() -> None:
    res = parse_output("(Iris Kade (PER), per:employee_of, Orvex (org))(Orvex, located_in, Darrow)",
                       "re", RE, T_RE)
    assert [(m.text, m.type, m.span) for m in res.annotation.entities] == [
        ("Iris Kade", "PER", (0, 9)), ("Orvex", "ORG", (20, 25)), ("Darrow", None, (45, 51))]
