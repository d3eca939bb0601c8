"""Tiny random-weight models of the full tier's components, built from their configs.

Each builder writes a model in the layout a user's real checkpoint has (a transformers
``save_pretrained`` directory, an ultralytics ``.pt``, an openai-whisper checkpoint, a
pyannote checkpoint), so that the components load it through the same code path. Sizes are
tiny (hidden sizes of 16-32) unless ``realistic`` asks for the size of the real model.
Nothing here touches the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: words the tiny word-piece tokenizers know (the rest is [UNK])
WORDS = ["a", "the", "cat", "dog", "cup", "horse", "person", "man", "woman", "on", "in", "of",
         "and", "with", "sitting", "table", "is", "at", "."]


def _seed() -> None:
    import torch

    torch.manual_seed(0)


def _bert_tokenizer() -> Any:
    from transformers import BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS,
             *[chr(c) for c in range(ord("a"), ord("z") + 1)],
             *[f"##{chr(c)}" for c in range(ord("a"), ord("z") + 1)]]
    vocab = list(dict.fromkeys(vocab))
    return BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)})


def _clip_tokenizer() -> Any:
    """A byte-level BPE tokenizer of the CLIP kind with no merges (one token per character)."""
    from transformers import CLIPTokenizer

    # GPT-2's byte -> printable character table (byte-level BPE's alphabet)
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    chars = [chr(c) for c in cs]
    vocab = [*chars, *[c + "</w>" for c in chars], "<|startoftext|>", "<|endoftext|>"]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(vocab)}, merges=[])


def build_blip(out: Path, realistic: bool = False) -> Path:
    """BLIP captioner (``BlipForConditionalGeneration`` + ``BlipProcessor``)."""
    from transformers import (
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
    )

    _seed()
    tok = _bert_tokenizer()
    if realistic:  # Salesforce/blip-image-captioning-base: ViT-B/16 at 384 px, BERT-base decoder
        vision = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                  "intermediate_size": 3072, "image_size": 384, "patch_size": 16}
        text = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12,
                "intermediate_size": 3072, "vocab_size": 30524}
        size = 384
    else:
        vision = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                  "intermediate_size": 37, "image_size": 32, "patch_size": 8}
        text = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                "intermediate_size": 37, "vocab_size": len(tok)}
        size = 32
    text.update(bos_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id,
                pad_token_id=tok.pad_token_id, max_position_embeddings=64)
    cfg = BlipConfig(text_config=text, vision_config=vision)
    model = BlipForConditionalGeneration(cfg).eval()
    model.generation_config.max_new_tokens = 8
    if not realistic:  # random weights that say "cat ...": the caption-then-IE path finds an entity
        import torch

        with torch.no_grad():
            model.text_decoder.cls.predictions.bias[tok.convert_tokens_to_ids("cat")] += 50.0
    proc = BlipProcessor(BlipImageProcessor(size={"height": size, "width": size}), tok)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def build_ner(out: Path, realistic: bool = False) -> Path:
    """A BERT token classifier with CoNLL labels (``dslim/bert-base-NER``'s layout; realistic:
    BERT-base's size)."""
    from transformers import BertConfig, BertForTokenClassification

    _seed()
    tok = _bert_tokenizer()
    labels = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]
    size = ({"vocab_size": 28996, "max_position_embeddings": 512} if realistic else
            {"vocab_size": len(tok), "hidden_size": 32, "num_hidden_layers": 1,
             "num_attention_heads": 2, "intermediate_size": 37, "max_position_embeddings": 128})
    cfg = BertConfig(**size,
                     id2label=dict(enumerate(labels)), label2id={x: i for i, x in enumerate(labels)})
    model = BertForTokenClassification(cfg).eval()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def build_owlv2(out: Path, realistic: bool = False) -> Path:
    """OWLv2 open-vocabulary detector (``Owlv2ForObjectDetection`` + ``Owlv2Processor``;
    realistic: owlv2-base-patch16's size, 960 px)."""
    from transformers import (
        Owlv2Config,
        Owlv2ForObjectDetection,
        Owlv2ImageProcessor,
        Owlv2Processor,
    )

    _seed()
    tok = _clip_tokenizer()
    cfg = Owlv2Config(
        text_config={"vocab_size": len(tok), "bos_token_id": tok.bos_token_id,
                     "eos_token_id": tok.eos_token_id, "pad_token_id": tok.eos_token_id},
        vision_config={"image_size": 960, "patch_size": 16}) if realistic else Owlv2Config(
        text_config={"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                     "intermediate_size": 37, "vocab_size": len(tok), "max_position_embeddings": 16,
                     "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
                     "pad_token_id": tok.eos_token_id},
        vision_config={"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "intermediate_size": 37, "image_size": 64, "patch_size": 16},
        projection_dim=32,
    )
    model = Owlv2ForObjectDetection(cfg).eval()
    import torch

    with torch.no_grad():  # boxes = the model's per-patch prior boxes (random ones are degenerate)
        model.box_head.dense2.weight.zero_()
        model.box_head.dense2.bias.zero_()
    side = 960 if realistic else 64
    proc = Owlv2Processor(Owlv2ImageProcessor(size={"height": side, "width": side}), tok)
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def build_sam(out: Path, realistic: bool = False) -> Path:
    """SAM (``SamModel`` + ``SamProcessor``) at 64 px input (realistic: sam-vit-base, 1024 px)."""
    from transformers import SamConfig, SamImageProcessor, SamModel, SamProcessor

    _seed()
    if realistic:
        model = SamModel(SamConfig()).eval()
        model.save_pretrained(out)
        SamProcessor(SamImageProcessor()).save_pretrained(out)
        return out
    cfg = SamConfig(
        vision_config={"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                       "mlp_dim": 37, "image_size": 64, "patch_size": 16, "output_channels": 32,
                       "window_size": 2, "global_attn_indexes": [1], "num_pos_feats": 16},
        prompt_encoder_config={"hidden_size": 32, "image_size": 64, "patch_size": 16,
                               "mask_input_channels": 4},
        mask_decoder_config={"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                             "mlp_dim": 37, "iou_head_hidden_dim": 16},
    )
    model = SamModel(cfg).eval()
    proc = SamProcessor(SamImageProcessor(size={"longest_edge": 64},
                                          pad_size={"height": 64, "width": 64}))
    model.save_pretrained(out)
    proc.save_pretrained(out)
    return out


def build_yolo(out: Path, realistic: bool = False) -> Path:
    """YOLOv8 segmentation from ultralytics' model YAML (scale ``n``; tiny: width 1/16),
    saved as the ``.pt`` checkpoint dict ultralytics loads."""
    import torch
    import yaml
    from ultralytics.nn.tasks import SegmentationModel
    from ultralytics.utils import ROOT

    _seed()
    cfg = yaml.safe_load((ROOT / "cfg/models/v8/yolov8-seg.yaml").read_text())
    cfg["scale"] = "n"
    if not realistic:
        cfg["scales"]["n"] = [0.33, 0.0625, 1024]
    cfg["nc"] = 80
    model = SegmentationModel(cfg, nc=80, verbose=False)
    if not realistic:  # random weights that see a confident "cat" everywhere (tracks start)
        import torch

        with torch.no_grad():
            for seq in model.model[-1].cv3:
                seq[-1].bias[COCO_NAMES.index("cat")] = 8.0
    from ultralytics.cfg import get_cfg

    model.names = {i: n for i, n in enumerate(COCO_NAMES)}
    model.args = dict(get_cfg())
    model.args.update(task="segment", imgsz=640)
    path = out / ("yolov8n-seg.pt" if realistic else "tiny-seg.pt")
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.half(), "train_args": model.args, "date": "", "version": ""}, path)
    return path


def build_whisper(out: Path, realistic: bool = False) -> Path:
    """An English-only openai-whisper checkpoint (``ModelDimensions``; tiny widths, or
    realistic: tiny.en's)."""
    import dataclasses

    import torch
    from whisper.model import ModelDimensions, Whisper

    _seed()
    w, h, n = (384, 6, 4) if realistic else (32, 2, 1)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=w, n_audio_head=h,
                           n_audio_layer=n, n_vocab=51864, n_text_ctx=448, n_text_state=w,
                           n_text_head=h, n_text_layer=n)
    model = Whisper(dims)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "tiny-random.en.pt"
    torch.save({"dims": dataclasses.asdict(dims), "model_state_dict": model.state_dict()}, path)
    return path


def build_pyannote(out: Path, realistic: bool = False) -> Path:
    """A PyanNet segmentation model with segmentation-3.0's task (powerset, 3 speakers, 2 at
    once), saved as the checkpoint ``Model.from_pretrained`` reads (realistic: PyanNet's
    default sizes, segmentation-3.0's)."""
    import torch
    from pyannote.audio import __version__
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    _seed()
    model = PyanNet(sincnet={"stride": 10}, lstm={"num_layers": 4}) if realistic else PyanNet(
        sincnet={"stride": 10}, lstm={"hidden_size": 16, "num_layers": 1},
        linear={"hidden_size": 16, "num_layers": 1})
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=5.0,
        min_duration=5.0, warm_up=(0.0, 0.0), classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2, permutation_invariant=True)
    model.build()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "pytorch_model.bin"
    ckpt = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams),
            "pytorch-lightning_version": "2.6.6"}
    model.on_save_checkpoint(ckpt)
    ckpt["pyannote.audio"]["versions"]["pyannote.audio"] = __version__
    torch.save(ckpt, path)
    return out


COCO_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich",
    "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote",
    "keyboard", "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book",
    "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush",
]
