"""Label inventories of the 15 sets, in the style of each set's source dataset.

Restricted to labels the generator really produces (entity types, relation types, and
event types with their roles).
"""

from __future__ import annotations

OBJECT_CLASSES = ["person", "cat", "cup", "horse", "flower"]
PASCAL_STUFF = {"grass": "grass", "brick": "wall", "gravel": "ground"}
PASCAL_CLASSES = [*OBJECT_CLASSES, "grass", "wall", "ground"]
VRD_OBJECTS = ["person", "cat", "cup", "horse", "plant"]
VRD_PREDICATES = ["on the left of", "on the right of", "above", "below", "in the front of"]
IMSITU_VERBS = {
    "carrying": ["agent", "item", "place"],
    "riding": ["agent", "vehicle", "place"],
    "drinking": ["agent", "container", "place"],
}
IMSITU_NOUNS = ["person", "cat", "cup", "horse", "flower", "grass", "wall", "ground"]
VIDSITU_VERBS = {
    "walk": ["Arg0"],
    "carry": ["Arg0", "Arg1"],
    "meet": ["Arg0", "Arg1"],
    "chase": ["Arg0", "Arg1"],
}
ACE_ENTITY = ["PER", "ORG", "GPE", "LOC", "FAC"]
TACRED_ENTITY = ["PERSON", "ORGANIZATION", "CITY", "TITLE"]
TACRED_RELATIONS = [
    "per:employee_of", "per:title", "org:founded_by", "per:cities_of_residence",
    "per:spouse", "org:city_of_branch", "org:top_members/employees", "per:city_of_birth",
]
TWITTER_ENTITY = ["PER", "ORG", "LOC", "MISC"]
MNRE_ENTITY = ["PER", "ORG", "LOC"]
MNRE_RELATIONS = [
    "/per/org/member_of", "/per/per/peer", "/per/per/couple", "/per/loc/place_of_residence",
    "/org/loc/locate_at", "/org/org/subsidiary",
]
M2E2_ENTITY = ["PER", "ORG", "GPE"]
M2E2_EVENTS = {
    "Contact:Meet": ["Entity", "Place"],
    "Movement:Transport": ["Artifact", "Destination", "Origin"],
    "Conflict:Demonstrate": ["Entity", "Place"],
}

#: natural names of the labels (what the authors' prompts list; answers may use them)
NAMES: dict[str, str] = {
    **{c: c for c in PASCAL_CLASSES + VRD_OBJECTS + VRD_PREDICATES},
    **{v: v for v in IMSITU_VERBS}, **{r: r for rs in IMSITU_VERBS.values() for r in rs},
    **{v: v for v in VIDSITU_VERBS}, "Arg0": "agent", "Arg1": "patient",
    "PER": "person", "ORG": "organization", "GPE": "geopolitical entity", "LOC": "location",
    "FAC": "facility", "MISC": "miscellaneous",
    "PERSON": "person", "ORGANIZATION": "organization", "CITY": "city", "TITLE": "title",
    **{r: r.split(":", 1)[1] for r in TACRED_RELATIONS},
    **{r: r.rsplit("/", 1)[1] for r in MNRE_RELATIONS},
    "Contact:Meet": "meet", "Movement:Transport": "transport", "Conflict:Demonstrate": "demonstrate",
    "Entity": "entity", "Place": "place", "Artifact": "artifact", "Destination": "destination",
    "Origin": "origin",
}


def label_names(inventory: dict[str, object]) -> dict[str, str]:
    """``label -> natural name`` for every label of one set's inventory (manifest order)."""
    labels: list[str] = []
    for key in ("entity_types", "relation_types"):
        labels += list(inventory.get(key, []))  # type: ignore[call-overload]
    events: dict[str, list[str]] = inventory.get("event_types", {})  # type: ignore[assignment]
    labels += [*events, *(r for rs in events.values() for r in rs)]
    return {x: NAMES[x] for x in dict.fromkeys(labels)}


INVENTORY: dict[str, dict[str, object]] = {
    "i-ner": {"entity_types": PASCAL_CLASSES},
    "i-re": {"entity_types": VRD_OBJECTS, "relation_types": VRD_PREDICATES},
    "i-ee": {"entity_types": IMSITU_NOUNS, "event_types": IMSITU_VERBS},
    "v-ee": {"entity_types": OBJECT_CLASSES, "event_types": VIDSITU_VERBS},
    "a-ner": {"entity_types": ACE_ENTITY},
    "a-re": {"entity_types": TACRED_ENTITY, "relation_types": TACRED_RELATIONS},
    "ti-ner": {"entity_types": TWITTER_ENTITY},
    "ti-re": {"entity_types": MNRE_ENTITY, "relation_types": MNRE_RELATIONS},
    "ti-ee": {"entity_types": M2E2_ENTITY, "event_types": M2E2_EVENTS},
    "tv-ee": {"entity_types": OBJECT_CLASSES, "event_types": VIDSITU_VERBS},
    "ta-ner": {"entity_types": ACE_ENTITY},
    "ta-re": {"entity_types": TACRED_ENTITY, "relation_types": TACRED_RELATIONS},
    "ia-re": {"entity_types": MNRE_ENTITY, "relation_types": MNRE_RELATIONS},
    "tia-ner": {"entity_types": TWITTER_ENTITY},
    "va-ee": {"entity_types": OBJECT_CLASSES, "event_types": VIDSITU_VERBS},
}

DESCRIPTIONS: dict[str, str] = {
    "i-ner": "objects and stuff (PASCAL-Context classes) pasted on a texture; label = class name",
    "i-re": "two to three objects; VRD-style spatial predicates computed from the layout",
    "i-ee": "imSitu-style verbs depicted by composition (person carrying / riding / drinking)",
    "v-ee": "VidSitu-style verbs from motion (walk, carry, meet, chase); per-frame mask tracks",
    "a-ner": "ACE05-style sentences spoken by eSpeak NG; entities grounded as time spans",
    "a-re": "Re-TACRED-style relation sentences spoken by eSpeak NG",
    "ti-ner": "tweets with photo cards (person + printed name) and signs of named entities",
    "ti-re": "MNRE-style relation sentences with the entities shown as cards and signs",
    "ti-ee": "M2E2-style news sentences (Meet, Transport, Demonstrate) with a depicting image",
    "tv-ee": "a sentence describing the clip; arguments have text spans and mask tracks",
    "ta-ner": "ACE05-style sentence and its speech; entities have spans and time spans",
    "ta-re": "Re-TACRED-style sentence and its speech",
    "ia-re": "MNRE-style relation spoken; head and tail shown in the image and spoken",
    "tia-ner": "tweet, image and speech of the tweet (hashtag entities are text-only)",
    "va-ee": "clip plus a spoken narration; arguments have mask tracks and time spans",
}

for _inv in INVENTORY.values():
    _inv["label_names"] = label_names(_inv)
