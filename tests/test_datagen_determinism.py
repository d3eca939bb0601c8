"""The generator is deterministic: rebuilding a slice gives the committed mini's bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from muie_bench.benchmark import sha256_file
from muie_bench.datagen.build import build
from muie_bench.media import MediaReader
from muie_bench.paper_sets import PAPER_SETS


def _lines(d: Path) -> dict[str, str]:
    out = {}
    for line in (d / "instances.jsonl").read_text().splitlines():
        out[json.loads(line)["id"]] = line
    return out


def _decoded(root: Path, rel: str) -> dict[str, list[np.ndarray[Any, Any]]]:
    """What a media file decodes to: video frames as stored (planar YUV, no colour
    conversion), audio samples (a video's audio track too), image pixels."""
    import av

    reader = MediaReader(root)
    if rel.endswith(".mp4"):
        with av.open(str(reader.path(rel))) as c:
            out = {"frames": [f.to_ndarray() for f in c.decode(video=0)]}
        track = reader.video_audio(rel)
        return out if track is None else {**out, "audio": [track[0], np.array([track[1]])]}
    if rel.endswith(".wav"):
        samples, rate = reader.audio(rel)
        return {"audio": [samples, np.array([rate])]}
    return {"pixels": [reader.image(rel)]}


def _decoded_difference(a: dict[str, list[np.ndarray[Any, Any]]],
                        b: dict[str, list[np.ndarray[Any, Any]]]) -> str:
    """How two decodings differ ("decoded identical" if they do not)."""
    if a.keys() != b.keys():
        return f"decoded streams {sorted(a)} vs {sorted(b)}"
    parts = []
    for kind in sorted(a):
        xs, ys = a[kind], b[kind]
        if len(xs) != len(ys):
            parts.append(f"{kind}: {len(xs)} vs {len(ys)}")
            continue
        bad = [(i, x, y) for i, (x, y) in enumerate(zip(xs, ys, strict=True))
               if x.shape != y.shape or not np.array_equal(x, y)]
        if bad:
            worst = max((float(np.abs(x.astype(np.float64) - y.astype(np.float64)).max())
                         for _, x, y in bad if x.shape == y.shape), default=float("nan"))
            parts.append(f"{kind}: {len(bad)} of {len(xs)} differ (first #{bad[0][0]}, max |diff| {worst:g})")
    return "decoded " + ("; ".join(parts) if parts else "identical")


def _media_mismatches(out: Path, committed_dir: Path, media: list[str]) -> list[str]:
    """One line per file of ``media`` under ``out`` whose bytes or decoding differ from
    ``committed_dir``'s (sha256 from its manifest), saying how the decoding differs."""
    committed = json.loads((committed_dir / "manifest.json").read_text())["files"]
    problems = []
    for rel in media:
        if rel not in committed:
            problems.append(f"{rel}: not in the committed manifest")
            continue
        digest = sha256_file(out / rel)
        decoded = _decoded_difference(_decoded(out, rel), _decoded(committed_dir, rel))
        if digest != committed[rel] or decoded != "decoded identical":
            problems.append(f"{rel}: sha256 {digest[:12]} vs committed {committed[rel][:12]}; {decoded}")
    return problems


def test_mismatches_name_every_file_and_how_it_decodes(mini_dir: Path, tmp_path: Path) -> None:
    """The comparison behind the determinism test reports every differing file, not the
    first, and says whether the decoded frames / samples differ too."""
    import soundfile as sf

    from muie_bench.datagen import video as V

    mp4s = ["media/v-ee/v-ee-0000.mp4", "media/tv-ee/tv-ee-0001.mp4", "media/va-ee/va-ee-0000.mp4"]
    wav, jpg = "media/a-ner/a-ner-0000.wav", "media/i-ner/i-ner-0000.jpg"
    for rel in [*mp4s, wav, jpg]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes((mini_dir / rel).read_bytes())
    frames = [np.full((V.H, V.W, 3), 90, np.uint8)] * 5
    (tmp_path / mp4s[1]).write_bytes(V.encode_mp4(frames))  # other frames
    (tmp_path / mp4s[2]).write_bytes((mini_dir / mp4s[2]).read_bytes() + b"\0\0\0\x08free")  # same frames
    samples, rate = sf.read(str(mini_dir / wav), dtype="int16")
    samples[100] += 1
    sf.write(str(tmp_path / wav), samples, rate, subtype="PCM_16", format="WAV")
    problems = _media_mismatches(tmp_path, mini_dir, [*mp4s, wav, jpg])
    assert [p.split(":")[0] for p in problems] == [mp4s[1], mp4s[2], wav]
    assert "frames: 5 vs 30" in problems[0]
    assert problems[1].endswith("decoded identical")
    assert "audio: 1 of 2 differ (first #0, max |diff| 3.05176e-05)" in problems[2]


def test_rebuilt_slice_matches_committed_mini(mini_dir: Path, tmp_path: Path) -> None:
    """Two instances of every set, rebuilt in 2 worker processes, are byte-identical to
    the committed ones (instance lines and every media file) and decode to the same frames,
    samples and pixels. Every mismatching file and line is listed, with how its decoding
    differs."""
    out = tmp_path / "slice"
    report = build("mini", seed=0, out=out, workers=2, per_set=2, progress=False)
    assert report.instances == 2 * len(PAPER_SETS)
    rebuilt = json.loads((out / "manifest.json").read_text())["files"]
    media = [rel for rel in rebuilt if rel != "instances.jsonl"]
    assert len(media) >= 2 * len(PAPER_SETS)
    problems = [f"{rel}: the rebuilt manifest's sha256 is not the file's" for rel in media
                if sha256_file(out / rel) != rebuilt[rel]]
    problems += _media_mismatches(out, mini_dir, media)
    mine, theirs = _lines(out), _lines(mini_dir)
    problems += [f"instances.jsonl: line of {iid} differs" for iid, line in mine.items()
                 if line != theirs.get(iid)]
    assert not problems, f"{len(problems)} of {len(media)} files / {len(mine)} lines differ:\n" + \
        "\n".join(problems)


def test_mini_is_prefix_of_larger_build(mini_dir: Path, tmp_path: Path) -> None:
    """Instance k depends only on (seed, set, k): a 9-per-set build of i-ner starts with
    mini's 8 i-ner instances; another seed gives other instances."""
    out = tmp_path / "nine"
    build("full", seed=0, out=out, workers=1, sets=["i-ner"], per_set=9, progress=False)
    mine = list(_lines(out).items())
    theirs = {k: v for k, v in _lines(mini_dir).items() if k.startswith("i-ner-")}
    assert len(mine) == 9
    assert dict(mine[:8]) == theirs
    other = tmp_path / "seed1"
    build("mini", seed=1, out=other, workers=1, sets=["i-ner"], per_set=1, progress=False)
    assert _lines(other)["i-ner-0000"] != theirs["i-ner-0000"]


def test_every_voice_is_clock_independent() -> None:
    """eSpeak NG seeds some voice variants' noise from the clock (whole seconds): each voice
    used gives the same samples in two fresh processes more than a second apart."""
    import time

    from muie_bench.datagen.speech import VOICES, speak

    text = "Ilsa Varga met Bram Strand in Westmere."
    first = {v: speak(text, v).samples.tobytes() for v in VOICES}
    time.sleep(1.1)
    for v in VOICES:
        assert speak(text, v).samples.tobytes() == first[v], v


def test_make_tiny_rebuilds_the_committed_tiny(tiny_dir: Path, tmp_path: Path) -> None:
    """``tests/data/make_tiny.py`` (its own encoder settings, the generator's CPU-independent
    x264 parameters and RGB->YUV) writes the committed tiny benchmark byte for byte."""
    import os
    import subprocess
    import sys

    root = tiny_dir.parent.parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}
    subprocess.run([sys.executable, str(tiny_dir.parent / "make_tiny.py"), str(tmp_path / "tiny")],
                   check=True, env=env, cwd=tmp_path)
    files = sorted(str(p.relative_to(tiny_dir)) for p in tiny_dir.rglob("*") if p.is_file())
    assert sorted(str(p.relative_to(tmp_path / "tiny")) for p in (tmp_path / "tiny").rglob("*")
                  if p.is_file()) == files
    media = [rel for rel in files if rel.startswith("media/")]
    problems = _media_mismatches(tmp_path / "tiny", tiny_dir, media)
    problems += [f"{rel}: differs" for rel in ["instances.jsonl", "manifest.json"]
                 if (tmp_path / "tiny" / rel).read_bytes() != (tiny_dir / rel).read_bytes()]
    assert not problems, "\n".join(problems)
