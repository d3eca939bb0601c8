"""The reamo / openai-chat systems end to end: a real chat-completions server and grounder
server on 127.0.0.1, the official openai client, the runner, the tiny benchmark."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from mllm_server import ChatServer, GrounderServer

from muie_bench.benchmark import load_benchmark
from muie_bench.errors import UserError
from muie_bench.run.runner import RunOptions, run
from muie_bench.schema import Prediction
from muie_bench.systems.registry import build_system

ROOT = Path(__file__).resolve().parent.parent
SETS = ["ti-ner", "ta-ner", "tv-ee"]


def _gold(tiny: Path) -> dict[str, Any]:
    out = {}
    for line in (tiny / "instances.jsonl").read_text().splitlines():
        d = json.loads(line)
        out[d["id"]] = d
    return out


def _sha(tiny: Path, rel: str) -> str:
    return str(json.loads((tiny / "manifest.json").read_text())["files"][rel])


def _script(tiny: Path) -> dict[str, list[Any]]:
    return {
        "Mara Velto joined": [
            {"status": 429, "retry_after": "0.2"},
            "(Mara Velto, PER)(Quillon Labs, ORG)(Lumeria, LOC)\n<Module>ImageSegmentation"
            "</Module><Instruction>Segment the person: Mara Velto</Instruction>",
        ],
        "Tavi Brenn joined": [
            {"status": 500}, {"status": 503},
            "Entities: (Tavi Brenn, per)(Orvex, ORG)(Lumeria, LOC) <Module>ImageSegmentation"
            "</Module><Instruction>Segment: Tavi Brenn</Instruction>",
        ],
        "Iris Kade spoke": [
            {"sleep": 2.5, "content": "(too late, PER)"},
            "(Iris Kade, PER)(Darrow, GPE)<Module>AudioSegmentation</Module>"
            "<Instruction>Segment: Iris Kade</Instruction>",
        ],
        "Olan Mere spoke": ["I'm sorry, but I can't listen to audio files."],
        f"garage && sha256:{_sha(tiny, 'media/tv-ee-0.mp4')}": [
            "(Transport, drives, (Artifact, red car), (Destination, garage))\n"
            "<Module>VideoTracking</Module><Instruction>Track: red car</Instruction>",
        ],
        f"garage && sha256:{_sha(tiny, 'media/tv-ee-1.mp4')}": [
            {"status": 429}, {"status": 502},
            "(Transport, drives, (Artifact, red car))",
        ],
    }


def _grounder_answers(tiny: Path) -> dict[str, Any]:
    g = _gold(tiny)
    return {
        "Mara Velto": {"mask": g["ti-ner-0"]["gold"]["entities"][0]["image_mask"]},
        "Tavi Brenn": {"mask": g["ti-ner-1"]["gold"]["entities"][0]["image_mask"]},
        "Iris Kade": {"segments": [[0.3, 0.8]]},
        "red car": {"track": g["tv-ee-0"]["gold"]["entities"][0]["video_track"]},
    }


def _settings(chat: ChatServer, grounder: GrounderServer, cache: Path) -> dict[str, Any]:
    return {
        "base_url": chat.base_url, "model": "reamo-test", "timeout": 1.0, "max_retries": 3,
        "backoff_base": 0.05, "backoff_max": 0.2, "cache_dir": str(cache),
        "grounder": "http", "image_grounder_url": grounder.url + "/seem",
        "audio_grounder_url": grounder.url + "/shas", "video_mode": "video_url",
    }


def _preds(run_dir: Path) -> dict[str, Prediction]:
    lines = (run_dir / "predictions.jsonl").read_text().splitlines()
    return {p.id: p for p in (Prediction.model_validate_json(x) for x in lines)}


def test_reamo_over_chat_server(tiny_dir: Path, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    with ChatServer(_script(tiny_dir)) as chat, GrounderServer(_grounder_answers(tiny_dir)) as gs:
        assert isinstance(chat, ChatServer) and isinstance(gs, GrounderServer)
        settings = _settings(chat, gs, tmp_path / "cache")
        opts = RunOptions(system="reamo", overrides=settings, benchmark=tiny_dir, sets=SETS,
                          workers=2, out=tmp_path / "runs", n_resamples=50)
        res = run(opts)
        n_requests = len(chat.requests)

        rec = json.loads((res.run_dir / "run.json").read_text())
        assert rec["counts"] == {"total": 6, "done": 6, "failed": 0, "missing": 0}
        assert rec["trace_totals"]["retries"] == 6  # 1 (429) + 2 (5xx) + 1 (timeout) + 2
        assert rec["trace_totals"]["cache_hits"] == 0
        assert n_requests == 12  # 6 answers + 6 failed attempts
        assert {r["auth"] for r in chat.requests} == {"Bearer sk-test-secret"}
        assert "sk-test-secret" not in (res.run_dir / "run.json").read_text()

        preds = _preds(res.run_dir)
        gold = _gold(tiny_dir)
        p0 = preds["ti-ner-0"]
        assert [(m.text, m.type, m.span) for m in p0.output.entities] == [
            ("Mara Velto", "PER", (0, 10)), ("Quillon Labs", "ORG", (18, 30)),
            ("Lumeria", "LOC", (34, 41))]
        mask = p0.output.entities[0].image_mask
        assert mask is not None
        assert mask.model_dump(mode="json") == gold["ti-ner-0"]["gold"]["entities"][0]["image_mask"]
        assert p0.output.entities[1].image_mask is None
        assert p0.trace["retries"] == 1 and p0.trace["attempts"][0]["status"] == 429
        assert p0.trace["attempts"][0]["retry_after"] == pytest.approx(0.2)
        assert p0.trace["invocations"][0]["found"] is True
        assert set(p0.trace["timings"]) == {"prompt", "generate", "parse", "ground"}

        assert [a["status"] for a in preds["ti-ner-1"].trace["attempts"]] == [500, 503]
        assert preds["ti-ner-1"].output.entities[0].type == "PER"
        assert preds["ta-ner-0"].trace["attempts"][0]["status"] == "timeout"
        assert preds["ta-ner-0"].output.entities[0].audio_spans == [(0.3, 0.8)]
        bad = preds["ta-ner-1"]
        assert bad.parse_error is not None and bad.output.is_empty() and bad.error is None
        assert bad.raw is not None and "sorry" in bad.raw
        tv0 = preds["tv-ee-0"].output
        assert tv0.events[0].type == "Transport" and tv0.events[0].trigger.span == (10, 16)
        track = tv0.entity(tv0.events[0].arguments[0].mention).video_track
        assert track is not None and len(track.frames) > 0
        assert preds["tv-ee-1"].trace["retries"] == 2

        # expected scores: ti-ner all entities right, one of two masks per instance; ta-ner
        # one instance right, one parse failure; tv-ee 3 of 4 arguments, one of two tracks
        assert res.scores is not None
        m = {k: {c: v.value for c, v in ss.metrics.items()} for k, ss in res.scores.sets.items()}
        assert m["ti-ner"]["f1"] == pytest.approx(100.0)
        assert m["ti-ner"]["i_seg"] == pytest.approx(50.0)
        assert m["ta-ner"]["f1"] == pytest.approx(200 / 3)
        assert m["ta-ner"]["a_seg"] == pytest.approx(25.0)
        assert res.scores.sets["ta-ner"].parse_failures == 1
        assert m["tv-ee"]["et"] == pytest.approx(100.0)
        assert m["tv-ee"]["ea"] == pytest.approx(600 / 7)
        assert m["tv-ee"]["v_trck"] == pytest.approx(25.0)

        # the request carried the image as a data URL and the video as video_url
        req0 = next(r for r in chat.requests if "Mara Velto joined" in json.dumps(r["body"]))
        parts = req0["body"]["messages"][1]["content"]
        assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
        assert req0["body"]["model"] == "reamo-test"

        # a fresh run with the same requests is answered from the cache: no new requests
        opts2 = RunOptions(system="reamo", overrides=settings, benchmark=tiny_dir, sets=SETS,
                           workers=2, out=tmp_path / "runs", score=False, fresh=True)
        res2 = run(opts2)
        assert len(chat.requests) == n_requests
        rec2 = json.loads((res2.run_dir / "run.json").read_text())
        assert rec2["trace_totals"]["cache_hits"] == 6
        assert rec2["trace_totals"].get("retries", 0) == 0
        p2 = _preds(res2.run_dir)
        assert p2["ti-ner-0"].output == preds["ti-ner-0"].output


def test_backend_gives_up_and_instance_fails(tiny_dir: Path, tmp_path: Path) -> None:
    with ChatServer({"Mara Velto joined": [{"status": 500}]}) as chat:
        assert isinstance(chat, ChatServer)
        system = build_system("reamo", {"base_url": chat.base_url, "max_retries": 2,
                                        "backoff_base": 0.01, "cache": False, "grounder": "none"})
        bench = load_benchmark(tiny_dir).filter(ids=["ti-ner-0"])
        system.setup(bench)
        pred = system.predict(bench.get("ti-ner-0"), bench)
        assert pred.error is not None and "gave up" in pred.error
        assert pred.trace["retries"] == 2 and len(pred.trace["attempts"]) == 3
        assert len(chat.requests) == 3


def test_permanent_http_error_is_not_retried(tiny_dir: Path) -> None:
    with ChatServer({"Mara Velto joined": [{"status": 400}]}) as chat:
        assert isinstance(chat, ChatServer)
        system = build_system("openai-chat", {"base_url": chat.base_url, "cache": False,
                                              "grounder": "none", "backoff_base": 0.01})
        bench = load_benchmark(tiny_dir).filter(ids=["ti-ner-0"])
        system.setup(bench)
        pred = system.predict(bench.get("ti-ner-0"), bench)
        assert pred.error is not None and "HTTP 400" in pred.error
        assert len(chat.requests) == 1


def test_openai_chat_sends_audio_and_frames(tiny_dir: Path) -> None:
    with ChatServer({}, default="None") as chat:
        assert isinstance(chat, ChatServer)
        system = build_system("openai-chat", {"base_url": chat.base_url, "model": "m",
                                              "cache": False, "grounder": "none",
                                              "video_frames": 3})
        bench = load_benchmark(tiny_dir).filter(ids=["ia-re-0", "v-ee-0"])
        system.setup(bench)
        for iid in ("ia-re-0", "v-ee-0"):
            pred = system.predict(bench.get(iid), bench)
            assert pred.error is None and pred.parse_error is None and pred.output.is_empty()
        ia, ve = (r["body"]["messages"][1]["content"] for r in chat.requests)
        assert [p["type"] for p in ia] == ["text", "image_url", "input_audio"]
        assert ia[2]["input_audio"]["format"] == "wav"
        assert [p["type"] for p in ve] == ["text", "text", "image_url", "image_url", "image_url"]
        assert ve[1]["text"].startswith("Video frames")


def test_grounding_all_mode_and_grounder_errors(tiny_dir: Path, tmp_path: Path) -> None:
    answers = _grounder_answers(tiny_dir)
    answers["Quillon Labs"] = 500
    with ChatServer({"Mara Velto joined": ["(Mara Velto, PER)(Quillon Labs, ORG)"]}) as chat, \
            GrounderServer(answers) as gs:
        assert isinstance(chat, ChatServer) and isinstance(gs, GrounderServer)
        s = {**_settings(chat, gs, tmp_path / "c"), "grounding": "all"}
        system = build_system("reamo", s)
        bench = load_benchmark(tiny_dir).filter(ids=["ti-ner-0"])
        system.setup(bench)
        pred = system.predict(bench.get("ti-ner-0"), bench)
        recs = pred.trace["invocations"]
        assert [(r["source"], r["target"]) for r in recs] == [("auto", "Mara Velto"),
                                                              ("auto", "Quillon Labs")]
        assert pred.output.entities[0].image_mask is not None
        assert "HTTP 500" in recs[1]["error"] and pred.trace["grounding_errors"] == 1
        assert [r["body"]["modality"] for r in gs.requests] == ["image", "image"]
        assert gs.requests[0]["body"]["media"]["sha256"] == _sha(tiny_dir, "media/ti-ner-0.png")


def test_grounder_response_outside_contract(tiny_dir: Path, tmp_path: Path) -> None:
    answers = {"Mara Velto": {"mask": {"size": [10, 10], "counts": "0"}}}
    with ChatServer({"Mara Velto joined": [
            "(Mara Velto, PER)<Module>ImageSegmentation</Module><Instruction>Segment: Mara Velto"
            "</Instruction><Module>AudioSegmentation</Module><Instruction>Segment: Mara Velto"
            "</Instruction><Module>ImageSegmentation</Module><Instruction>Segment: nobody"
            "</Instruction>"]}) as chat, \
            GrounderServer(answers) as gs:
        assert isinstance(chat, ChatServer) and isinstance(gs, GrounderServer)
        system = build_system("reamo", _settings(chat, gs, tmp_path / "c"))
        bench = load_benchmark(tiny_dir).filter(ids=["ti-ner-0"])
        system.setup(bench)
        pred = system.predict(bench.get("ti-ner-0"), bench)
        errors = [r["error"] for r in pred.trace["invocations"]]
        assert "mask size [10, 10] != image size [48, 64]" in errors[0]
        assert errors[1] == "audio is not an input of this instance"
        assert errors[2] == "target names no extracted mention"
        assert pred.output.entities[0].image_mask is None


def test_reamo_without_backend_is_one_clear_error(tiny_dir: Path) -> None:
    with pytest.raises(UserError, match=r"base_url.*replay_path"):
        build_system("reamo")
    with pytest.raises(UserError, match="inprocess_entry"):
        build_system("reamo", {"backend": "inprocess"})
    with pytest.raises(UserError, match="no such file"):
        build_system("reamo", {"replay_path": "/nonexistent/out.jsonl"})
    proc = subprocess.run(
        [sys.executable, "-m", "muie_bench.cli", "run", "--system", "reamo", "-b", str(tiny_dir),
         "--out", "/nonexistent-dir/runs"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --system reamo: no backend configured")
    assert "Traceback" not in proc.stderr


def test_openai_key_is_required_for_the_official_endpoint(tiny_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MUIE_TEST_NO_KEY", raising=False)
    system = build_system("gpt-4o", {"api_key_env": "MUIE_TEST_NO_KEY", "grounder": "none"})
    with pytest.raises(UserError, match="MUIE_TEST_NO_KEY is not set"):
        system.setup(load_benchmark(tiny_dir))
    assert "api_key_env" not in system.settings.public()


def test_inprocess_contract(tiny_dir: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"Mara Velto joined": "(Mara Velto, PER)(Lumeria, LOC)"}))
    system = build_system("reamo", {"inprocess_entry": "mllm_inprocess_model:load",
                                    "model_base": "base-llm", "model_path": str(answers),
                                    "grounder": "none"})
    assert system.components()["entry"] == "mllm_inprocess_model:load"
    bench = load_benchmark(tiny_dir).filter(ids=["ti-ner-0", "ta-ner-0"])
    system.setup(bench)
    pred = system.predict(bench.get("ti-ner-0"), bench)
    assert [m.text for m in pred.output.entities] == ["Mara Velto", "Lumeria"]
    assert pred.trace["backend"] == "inprocess"
    other = system.predict(bench.get("ta-ner-0"), bench)
    assert other.error is not None and "no scripted answer" in other.error
    with pytest.raises(UserError, match="cannot import"):
        build_system("reamo", {"inprocess_entry": "no_such_reamo_pkg.model:load"})


def test_cache_survives_concurrent_writers(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from muie_bench.systems.mllm.cache import RequestCache, cache_key

    cache = RequestCache(tmp_path)
    key = cache_key("m", "p" * 64, ["a" * 64], {"temperature": 0})
    assert cache.get(key) is None
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: cache.put(key, {"text": f"answer {i}"}), range(40)))
    hit = cache.get(key)
    assert hit is not None and hit["text"].startswith("answer ")
    assert not list(tmp_path.rglob(".tmp-*"))
    assert key != cache_key("m2", "p" * 64, ["a" * 64], {"temperature": 0})
    assert key != cache_key("m", "p" * 64, ["b" * 64], {"temperature": 0})


def test_retry_after_header_forms() -> None:
    from email.utils import formatdate

    from muie_bench.systems.mllm.openai_chat import retry_after_seconds

    assert retry_after_seconds("2") == 2.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = retry_after_seconds(formatdate(time.time() + 30, usegmt=True))
    assert later is not None and 0 < later <= 30


def test_audio_transcript_fallback(tiny_dir: Path) -> None:
    """audio_mode=transcript: the offline Whisper transcript replaces the audio part."""
    pytest.importorskip("faster_whisper")
    with ChatServer({}, default="None") as chat:
        assert isinstance(chat, ChatServer)
        system = build_system("openai-chat", {"base_url": chat.base_url, "cache": False,
                                              "grounder": "none", "audio_mode": "transcript"})
        bench = load_benchmark(tiny_dir).filter(ids=["a-re-0"])
        system.setup(bench)
        pred = system.predict(bench.get("a-re-0"), bench)
        assert pred.error is None
        parts = chat.requests[0]["body"]["messages"][1]["content"]
        assert [p["type"] for p in parts] == ["text", "text"]
        transcript = pred.trace["info"]["transcripts"]["media/a-re-0.wav"]
        assert parts[1]["text"] == f"Audio transcript: {transcript}"


def test_concurrency_limit_holds_across_workers(tiny_dir: Path, tmp_path: Path) -> None:
    slow = {"sleep": 0.3, "content": "None"}
    script = {k: [slow] for k in ("Mara Velto", "Tavi Brenn", "Iris Kade", "Olan Mere")}
    with ChatServer(script) as chat:
        assert isinstance(chat, ChatServer)
        s = {"base_url": chat.base_url, "concurrency": 1, "cache": False, "grounder": "none",
             "timeout": 30.0}
        res = run(RunOptions(system="reamo", overrides=s, benchmark=tiny_dir,
                             sets=["ti-ner", "ta-ner"], workers=4, out=tmp_path, score=False))
        assert res.record.counts.done == 4
        assert len(chat.requests) == 4 and chat.max_inflight == 1


class _PhraseGrounder:
    """A grounder implementing the interface: a fixed answer or exception per phrase."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str]] = []

    def ground(self, modality: Any, phrase: str, mention_type: Any, instance: Any,
               benchmark: Any) -> Any:
        self.calls.append((modality, phrase))
        ans = self.answers.get(phrase)
        if isinstance(ans, Exception):
            raise ans
        return ans


def test_grounder_exceptions(tiny_dir: Path) -> None:
    from muie_bench.schema import RLE
    from muie_bench.systems.grounding_invocations import apply_groundings
    from muie_bench.systems.parse import parse_output

    bench = load_benchmark(tiny_dir)
    inst = bench.get("ti-ner-0")
    raw = ("(Mara Velto, PER)(Quillon Labs, ORG)<Module>ImageSegmentation</Module>"
           "<Instruction>Segment: Mara Velto</Instruction><Instruction>Segment: Quillon Labs"
           "</Instruction><Instruction>Segment: mara velto</Instruction>")
    mask = RLE.model_validate(_gold(tiny_dir)["ti-ner-0"]["gold"]["entities"][1]["image_mask"])
    res = parse_output(raw, "ner", bench.manifest.set("ti-ner"), inst.text)
    g = _PhraseGrounder({"Mara Velto": RuntimeError("model crashed"), "Quillon Labs": mask})
    recs = apply_groundings(res.annotation, res.invocations, g, inst, bench)
    assert recs[0]["error"] == "RuntimeError: model crashed"
    assert res.annotation.entities[1].image_mask == mask
    assert g.calls == [("image", "Mara Velto"), ("image", "Quillon Labs")]  # asked once
    res2 = parse_output(raw, "ner", bench.manifest.set("ti-ner"), inst.text)
    bad = _PhraseGrounder({"Mara Velto": UserError("media/x.png: media file not found")})
    with pytest.raises(UserError, match="not found"):
        apply_groundings(res2.annotation, res2.invocations, bad, inst, bench)
