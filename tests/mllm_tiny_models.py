"""Tiny random-weight MLLMs for the transformers backend tests (each well under 1 MB).

Built from transformers configs with a byte-level tokenizer made from scratch (256 byte
tokens plus the media and chat special tokens), small image / video / audio processors, and
saved with ``save_pretrained`` so the backend loads them with its real loading code. The
weights are random (``torch.manual_seed(0)``): the generated text is noise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<image>", "<video>", "<|AUDIO|>", "<|audio_bos|>",
            "<|audio_eos|>", "<|im_start|>", "<|im_end|>"]
SIDE = 28  # image side (2 x 2 patches of 14)

#: a chat template in the style of the real checkpoints' (media parts become tokens)
CHAT = (
    "{% for m in messages %}{{ m['role'] | upper }}: {% if m['content'] is string %}"
    "{{ m['content'] }}{% else %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>"
    "{% elif c['type'] == 'video' %}<video>{% elif c['type'] == 'audio' %}"
    "<|audio_bos|><|AUDIO|><|audio_eos|>{% elif c['type'] == 'text' %}{{ '\\n' + c['text'] }}"
    "{% endif %}"
    "{% endfor %}{% endif %} {% endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)


def tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(sorted(ByteLevel.alphabet()))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(SPECIALS)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", bos_token="<s>",
                                   eos_token="</s>", unk_token="<unk>")


def _text_config(kind: str, tok: Any) -> Any:
    import transformers

    cls = transformers.Qwen2Config if kind == "qwen2" else transformers.LlamaConfig
    return cls(vocab_size=len(tok), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
               num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=4096,
               pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
               eos_token_id=tok.eos_token_id)


def _vision_config() -> Any:
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                            num_attention_heads=2, image_size=SIDE, patch_size=14, projection_dim=16)


def _save(model: Any, processor: Any, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def build_llava(out: Path) -> Path:
    """LLaVA-style: CLIP vision tower + Llama, ``<image>`` tokens, the chat template above."""
    import torch
    from transformers import (
        CLIPImageProcessor,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    tok = tokenizer()
    ip = CLIPImageProcessor(size={"shortest_edge": SIDE}, crop_size={"height": SIDE, "width": SIDE})
    proc = LlavaProcessor(image_processor=ip, tokenizer=tok, patch_size=14, chat_template=CHAT,
                          vision_feature_select_strategy="default", image_token="<image>",
                          num_additional_image_tokens=1)
    cfg = LlavaConfig(vision_config=_vision_config(), text_config=_text_config("llama", tok),
                      image_token_index=tok.convert_tokens_to_ids("<image>"),
                      vision_feature_select_strategy="default", vision_feature_layer=-1)
    torch.manual_seed(0)
    return _save(LlavaForConditionalGeneration(cfg), proc, out)


def build_video_llava(out: Path) -> Path:
    """Video-LLaVA: native video input (8 frames) and images."""
    import torch
    from transformers import (
        VideoLlavaConfig,
        VideoLlavaForConditionalGeneration,
        VideoLlavaImageProcessor,
        VideoLlavaProcessor,
        VideoLlavaVideoProcessor,
    )

    tok = tokenizer()
    size, crop = {"shortest_edge": SIDE}, {"height": SIDE, "width": SIDE}
    proc = VideoLlavaProcessor(image_processor=VideoLlavaImageProcessor(size=size, crop_size=crop),
                               video_processor=VideoLlavaVideoProcessor(size=size, crop_size=crop),
                               tokenizer=tok, patch_size=14, num_additional_image_tokens=1,
                               chat_template=CHAT)
    cfg = VideoLlavaConfig(vision_config=_vision_config(), text_config=_text_config("llama", tok),
                           image_token_index=tok.convert_tokens_to_ids("<image>"),
                           video_token_index=tok.convert_tokens_to_ids("<video>"),
                           vision_feature_layer=-1, image_seq_length=4, video_seq_length=40)
    torch.manual_seed(0)
    return _save(VideoLlavaForConditionalGeneration(cfg), proc, out)


def build_qwen2_audio(out: Path) -> Path:
    """Qwen2-Audio: Whisper-style encoder (80 mel bins) + Qwen2, ``<|AUDIO|>`` tokens."""
    import torch
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioEncoderConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        WhisperFeatureExtractor,
    )

    tok = tokenizer()
    fe = WhisperFeatureExtractor(feature_size=80, sampling_rate=16000, chunk_length=30)
    proc = Qwen2AudioProcessor(feature_extractor=fe, tokenizer=tok, chat_template=CHAT)
    ac = Qwen2AudioEncoderConfig(num_mel_bins=80, encoder_layers=1, encoder_attention_heads=2,
                                 encoder_ffn_dim=32, d_model=16, max_source_positions=1500)
    cfg = Qwen2AudioConfig(audio_config=ac, text_config=_text_config("qwen2", tok),
                           audio_token_index=tok.convert_tokens_to_ids("<|AUDIO|>"))
    torch.manual_seed(0)
    return _save(Qwen2AudioForConditionalGeneration(cfg), proc, out)


def build_instructblip(out: Path) -> Path:
    """InstructBLIP: ViT + Q-Former (4 query tokens, its own tokenizer) + Llama; the processor
    puts the query tokens in the text itself."""
    import torch
    from transformers import (
        BlipImageProcessor,
        InstructBlipConfig,
        InstructBlipForConditionalGeneration,
        InstructBlipProcessor,
        InstructBlipQFormerConfig,
        InstructBlipVisionConfig,
    )

    tok, qtok = tokenizer(), tokenizer()
    proc = InstructBlipProcessor(image_processor=BlipImageProcessor(size={"height": SIDE, "width": SIDE}),
                                 tokenizer=tok, qformer_tokenizer=qtok, num_query_tokens=4)
    vc = InstructBlipVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                  num_attention_heads=2, image_size=SIDE, patch_size=14)
    qc = InstructBlipQFormerConfig(vocab_size=len(qtok), hidden_size=16, num_hidden_layers=1,
                                   num_attention_heads=2, intermediate_size=32, encoder_hidden_size=16,
                                   pad_token_id=qtok.pad_token_id, max_position_embeddings=4096)
    cfg = InstructBlipConfig(vision_config=vc, qformer_config=qc, text_config=_text_config("llama", tok),
                             num_query_tokens=4, image_token_index=tok.convert_tokens_to_ids("<image>"))
    torch.manual_seed(0)
    return _save(InstructBlipForConditionalGeneration(cfg), proc, out)


BUILDERS = {"llava": build_llava, "video-llava": build_video_llava, "qwen2-audio": build_qwen2_audio,
            "instructblip": build_instructblip}
