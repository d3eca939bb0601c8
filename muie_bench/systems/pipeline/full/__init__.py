"""Full-tier components of the ``pipeline`` kind: models a user supplies (README "Full tier").

One module per component (captioner, YOLO segmentation + tracking, openai-whisper ASR,
transformers NER, pyannote speech activity, referring segmentation); each imports torch and
its model package inside its methods only, so the offline tier never needs the ``full``
extra. Weights come from a local path or a hub name in a setting; a missing path, hub entry
or package is one :class:`muie_bench.errors.UserError` line naming that setting.
"""
