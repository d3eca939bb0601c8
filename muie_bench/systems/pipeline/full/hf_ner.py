"""Text IE with a transformers token-classification NER model instead of spaCy's NER.

:class:`TransformersIE` is :class:`~muie_bench.systems.pipeline.text_ie.SpacyIE` with its
named entities taken from the NER model (``dslim/bert-base-NER`` style, BIO labels): the
model's word groups (``aggregation_strategy="simple"``) become the spaCy doc's entities, with
the label mapped through ``label_map`` then spaCy's ``ner_map`` (the first type the set's
inventory has wins); the rules that follow (organisation head words, hashtags, noun-chunk
entities, relations, events) are spaCy's, over spaCy's parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from muie_bench.systems.pipeline.full.common import hf_load, require, resolve_device, torch_dtype
from muie_bench.systems.pipeline.full.settings import HfNerSettings
from muie_bench.systems.pipeline.text_ie import SpacyIE

if TYPE_CHECKING:
    from muie_bench.schema import SetSpec

SETTING = "hf_ner.model"


@dataclass
class TransformersIE(SpacyIE):
    ner: HfNerSettings = field(default_factory=HfNerSettings)
    default_device: str = "auto"
    #: the model's entities of the last text (for the trace)
    last_entities: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _pipe: Any = field(default=None, repr=False)

    def load(self) -> Any:
        nlp = super().load()
        if self._pipe is None:
            tf = require("transformers", SETTING)
            device = resolve_device(self.ner.device or self.default_device, "hf_ner.device")
            dtype = torch_dtype(self.ner.dtype, device, "hf_ner.dtype")
            tok = hf_load(tf.AutoTokenizer, self.ner.model, SETTING, "NER model")
            model = hf_load(tf.AutoModelForTokenClassification, self.ner.model, SETTING,
                            "NER model", dtype=dtype)
            # long texts are read in overlapping windows of the model's positions
            limit = int(getattr(model.config, "max_position_embeddings", 512) or 512)
            if not tok.model_max_length or tok.model_max_length > limit:
                tok.model_max_length = limit
            self._pipe = tf.pipeline("token-classification", model=model, tokenizer=tok,
                                     aggregation_strategy="simple", device=device,
                                     batch_size=self.ner.batch_size,
                                     stride=max(1, tok.model_max_length // 4))
        return nlp

    def model_entities(self, text: str) -> list[dict[str, Any]]:
        """``{"start", "end", "label", "score"}`` character spans of the model's entities."""
        self.load()
        out = []
        for e in self._pipe(text):
            label = str(e.get("entity_group") or e.get("entity", "")).split("-")[-1]
            if float(e["score"]) >= self.ner.min_score and int(e["end"]) > int(e["start"]):
                out.append({"start": int(e["start"]), "end": int(e["end"]), "label": label,
                            "score": round(float(e["score"]), 4)})
        return out

    def _entities(self, doc: Any, spec: SetSpec) -> list[dict[str, Any]]:
        from spacy.tokens import Span
        from spacy.util import filter_spans

        self.last_entities = self.model_entities(doc.text)
        spans = []
        for e in self.last_entities:
            span = doc.char_span(e["start"], e["end"], alignment_mode="expand")
            if span is not None and len(span):
                spans.append(Span(doc, span.start, span.end, label=f"HF:{e['label']}"))
        doc.ents = filter_spans(spans)
        return super()._entities(doc, spec)

    def __post_init__(self) -> None:
        merged = dict(self.ner_map)
        for label, types in self.ner.label_map.items():
            merged[f"HF:{label}"] = list(types)
        self.ner_map = merged
