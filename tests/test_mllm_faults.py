"""The chat backend against a misbehaving server (tests/mllm_server.py on 127.0.0.1):
lone surrogates in answers, ``content: null``, bodies that are not chat completions, bodies
that drip, and servers that echo credentials. Run through the real CLI where the issue was
seen there."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mllm_server import ChatServer, completion

from muie_bench.benchmark import load_benchmark
from muie_bench.provenance import mask_url_credentials, redact_argv, scrub_secrets
from muie_bench.schema import Prediction
from muie_bench.systems.registry import build_system

ROOT = Path(__file__).resolve().parent.parent
GOOD = "(Mara Velto, PER)(Quillon Labs, ORG)"


def _cli(args: list[str], env_extra: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "muie_bench.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout, env=env)


def _run_args(base_url: str, out: Path, *extra: str) -> list[str]:
    return ["run", "--system", "reamo", "-o", f"base_url={base_url}", "-o", "grounder=none",
            "-o", "max_retries=1", "-o", "backoff_base=0.01", "-b", str(ROOT / "tests/data/tiny"),
            "--sets", "ti-ner", "--out", str(out), *extra]


def _preds(out: Path) -> dict[str, Prediction]:
    (path,) = out.rglob("predictions.jsonl")
    preds = (Prediction.model_validate_json(x) for x in path.read_text().splitlines())
    return {p.id: p for p in preds}


def _predict(script: dict[str, list[Any]], tiny_dir: Path, **settings: Any) -> tuple[
        Prediction, ChatServer]:
    """ti-ner-0 predicted by reamo over a ChatServer playing ``script``; the prediction's
    ``seconds`` is the time of ``predict`` alone."""
    with ChatServer(script) as chat:
        assert isinstance(chat, ChatServer)
        system = build_system("reamo", {"base_url": chat.base_url, "cache": False,
                                        "grounder": "none", "backoff_base": 0.01, **settings})
        bench = load_benchmark(tiny_dir).filter(ids=["ti-ner-0"])
        system.setup(bench)
        return system.predict(bench.get("ti-ner-0"), bench), chat


# ---------------------------------------------------------------- 1. lone surrogates
@pytest.mark.parametrize("cache", ["false", "true"])
def test_lone_surrogate_in_answer_is_repaired(tmp_path: Path, cache: str) -> None:
    answer = "(Mara Velto, PER)\ud800(Quillon Labs, ORG) \U0001f600"
    with ChatServer({"Mara Velto joined": [answer]}) as chat:
        assert isinstance(chat, ChatServer)
        proc = _cli(_run_args(chat.base_url, tmp_path / "runs", "-o", f"cache={cache}",
                              "-o", f"cache_dir={tmp_path / 'cache'}"))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    p = _preds(tmp_path / "runs")["ti-ner-0"]
    assert p.error is None and p.raw == "(Mara Velto, PER)\ufffd(Quillon Labs, ORG) \U0001f600"
    assert p.trace["info"]["repaired"] == "1 lone surrogate(s) replaced by U+FFFD"
    assert [m.text for m in p.output.entities] == ["Mara Velto", "Quillon Labs"]
    if cache == "true":  # the repaired answer is what the cache holds
        texts = [json.loads(e.read_text(encoding="utf-8"))["text"]
                 for e in (tmp_path / "cache").rglob("*.json")]
        assert sorted(texts) == sorted([p.raw, "None"])


# ---------------------------------------------------------------- 2. bodies that are not answers
def test_null_content_is_a_parse_failure(tiny_dir: Path, tmp_path: Path) -> None:
    body = completion("x", "m")
    body["choices"][0]["message"]["content"] = None
    body["choices"][0]["finish_reason"] = "length"
    with ChatServer({"Mara Velto joined": [{"json": body}]}) as chat:
        assert isinstance(chat, ChatServer)
        proc = _cli(_run_args(chat.base_url, tmp_path / "runs", "-o", "cache=false"))
    assert proc.returncode == 0, proc.stderr
    p = _preds(tmp_path / "runs")["ti-ner-0"]
    assert p.error is None and p.raw is None and p.output.is_empty()
    assert p.parse_error == ("the chat endpoint answered without text (message.content null, "
                             "finish_reason 'length')")
    assert len(chat.requests) == 2  # not retried: the answer is the model's
    (scores,) = (tmp_path / "runs").rglob("scores.json")
    assert json.loads(scores.read_text())["sets"]["ti-ner"]["parse_failures"] == 1


BAD_BODIES: dict[str, tuple[dict[str, Any], str]] = {
    "html": ({"body": "<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>",
              "content_type": "text/html"},
             "HTTP 200 (text/html): not JSON: '<html><body><h1>502 Bad Gateway</h1> <p>nginx</p>"
             "</body></html>'"),
    "malformed-json": ({"body": '{"choices": [', "content_type": "application/json"},
                       "HTTP 200 (application/json): not JSON: '{\"choices\": ['"),
    "no-choices": ({"json": {"id": "x", "object": "chat.completion"}},
                   "HTTP 200 (application/json): no choices: "
                   "'{\"id\": \"x\", \"object\": \"chat.completion\"}'"),
    "empty-choices": ({"json": {"choices": []}},
                      "HTTP 200 (application/json): no choices: '{\"choices\": []}'"),
    "json-string": ({"json": "ok"}, "HTTP 200 (application/json): no choices: '\"ok\"'"),
    "no-message": ({"json": {"choices": [{"index": 0}]}},
                   "HTTP 200 (application/json): choices[0] has no message: "
                   "'{\"choices\": [{\"index\": 0}]}'"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_body_is_described_and_retried(tiny_dir: Path, case: str) -> None:
    step, detail = BAD_BODIES[case]
    pred, chat = _predict({"Mara Velto joined": [step, GOOD]}, tiny_dir, max_retries=2)
    assert pred.error is None and pred.parse_error is None, pred.error
    assert [m.text for m in pred.output.entities] == ["Mara Velto", "Quillon Labs"]
    assert len(chat.requests) == 2 and pred.trace["retries"] == 1
    (att,) = pred.trace["attempts"]
    assert att["status"] == "invalid" and att["detail"] == detail

    pred, chat = _predict({"Mara Velto joined": [step]}, tiny_dir, max_retries=1)
    assert len(chat.requests) == 2
    assert pred.error == (f"BackendError: chat endpoint failed 2 times (last: {detail}); "
                          "gave up")
    assert "attribute" not in pred.error


def test_error_status_with_html_body_says_what_was_sent(tiny_dir: Path) -> None:
    step = {"status": 403, "body": "<html>Forbidden by proxy</html>", "content_type": "text/html"}
    pred, chat = _predict({"Mara Velto joined": [step]}, tiny_dir)
    assert len(chat.requests) == 1
    assert pred.error == ("BackendError: HTTP 403 from the chat endpoint (text/html): "
                          "'<html>Forbidden by proxy</html>'")


def test_long_body_is_cut(tiny_dir: Path) -> None:
    step = {"body": "<p>" + "x" * 1000 + "</p>", "content_type": "text/html"}
    pred, _ = _predict({"Mara Velto joined": [step]}, tiny_dir, max_retries=0)
    assert pred.error is not None
    assert f"not JSON: '<p>{'x' * 197}…'" in pred.error


# ---------------------------------------------------------------- 3. total deadline
def test_timeout_is_a_total_deadline_per_attempt(tiny_dir: Path) -> None:
    """The body drips one byte per 0.05 s (a completion is > 250 bytes: > 12 s); each
    attempt must end at its 0.6 s deadline, so three attempts take about 1.9 s."""
    drip = {"drip": 0.05, "content": GOOD}
    pred, chat = _predict({"Mara Velto joined": [drip]}, tiny_dir, timeout=0.6, max_retries=2)
    took = pred.seconds
    assert len(chat.requests) == 3
    assert [a["status"] for a in pred.trace["attempts"]] == ["timeout"] * 3
    assert pred.error is not None and "last: timeout" in pred.error
    assert took is not None and 1.8 <= took < 3.5, took

    pred, chat = _predict({"Mara Velto joined": [drip, GOOD]}, tiny_dir, timeout=0.6)
    assert pred.error is None and pred.trace["retries"] == 1
    assert [m.text for m in pred.output.entities] == ["Mara Velto", "Quillon Labs"]


def test_deadline_covers_dripping_headers(tiny_dir: Path) -> None:
    """Status line and headers drip too (one byte per 0.05 s): still 0.6 s per attempt."""
    drip = {"drip": 0.05, "head": True, "content": GOOD}
    pred, chat = _predict({"Mara Velto joined": [drip]}, tiny_dir, timeout=0.6, max_retries=1)
    assert len(chat.requests) == 2
    assert [a["status"] for a in pred.trace["attempts"]] == ["timeout"] * 2
    assert pred.seconds is not None and 1.2 <= pred.seconds < 3.0, pred.seconds


def test_slow_but_steady_body_within_deadline_is_kept(tiny_dir: Path) -> None:
    pred, _ = _predict({"Mara Velto joined": [{"drip": 0.001, "content": GOOD}]}, tiny_dir,
                       timeout=20.0)
    assert pred.error is None and pred.trace["retries"] == 0
    assert [m.text for m in pred.output.entities] == ["Mara Velto", "Quillon Labs"]


# ---------------------------------------------------------------- 4. secrets
def _files_text(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("where", ["env", "url"])
def test_secrets_never_reach_the_run_directory_or_the_console(tmp_path: Path, where: str) -> None:
    """The key in OPENAI_API_KEY (sent as ``Bearer``) or in the base URL (sent as ``Basic``)
    comes back in the server's error bodies; it must not be in any file of the run nor on
    the console."""
    env_key = "sk-envSECRETkey0123456789abcd"
    url_pw = "URLpassw0rdSECRET"
    script: dict[str, list[Any]] = {
        "Mara Velto joined": [{"status": 401, "echo_auth": True}],
        "Tavi Brenn joined": [{"status": 500, "echo_auth": True}],
    }
    with ChatServer(script) as chat:
        assert isinstance(chat, ChatServer)
        host = chat.base_url.removeprefix("http://")
        base_url = f"http://alice:{url_pw}@{host}" if where == "url" else chat.base_url
        out = tmp_path / "runs"
        proc = _cli(_run_args(base_url, out, "-o", "cache=false",
                              "-o", f"image_grounder_url=http://bob:{url_pw}@127.0.0.1:9/seem?"
                              f"api_key={url_pw}"),
                    env_extra={"OPENAI_API_KEY": env_key})
        auths = {r["auth"] for r in chat.requests}
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    basic = base64.b64encode(f"alice:{url_pw}".encode()).decode()
    # the credentials were sent, and the server echoed them
    assert auths == ({f"Basic {basic}"} if where == "url" else {f"Bearer {env_key}"})
    for secret in (env_key, url_pw, basic, env_key[3:]):
        assert secret not in proc.stdout and secret not in proc.stderr
        for path, data in _files_text(out).items():
            assert secret.encode() not in data, (secret, path)

    (run_json,) = out.rglob("run.json")
    rec = json.loads(run_json.read_text())
    shown = f"http://***@{host}" if where == "url" else chat.base_url
    assert f"base_url={shown}" in rec["argv"]
    assert rec["system"]["settings"]["base_url"] == shown
    assert rec["system"]["settings"]["image_grounder_url"] == \
        "http://***@127.0.0.1:9/seem?api_key=***"
    errors = {e["id"]: e["error"] for e in rec["errors"]}
    scheme = "Basic" if where == "url" else "Bearer"
    assert errors["ti-ner-0"].startswith("BackendError: HTTP 401 from the chat endpoint")
    assert f"Authorization: {scheme} ***" in errors["ti-ner-0"]
    assert "gave up" in errors["ti-ner-1"] and f"{scheme} ***" in errors["ti-ner-1"]
    assert "failed ti-ner-0: BackendError: HTTP 401" in proc.stdout


def test_grounder_url_credentials_are_masked_in_the_trace(tiny_dir: Path) -> None:
    answer = (GOOD + "<Module>ImageSegmentation</Module><Instruction>Segment: Mara Velto"
              "</Instruction>")
    pred, _ = _predict({"Mara Velto joined": [answer]}, tiny_dir, grounder="http",
                       image_grounder_url="http://bob:GroundPw99@127.0.0.1:9/seem")
    (rec,) = pred.trace["invocations"]
    assert rec["error"] and "http://***@127.0.0.1:9/seem" in rec["error"]
    assert "GroundPw99" not in pred.model_dump_json()


def test_scrub_secrets_shapes() -> None:
    assert scrub_secrets("Authorization: Bearer abc.def-123", ()) == "Authorization: Bearer ***"
    assert scrub_secrets("basic: Basic YWxpY2U6cHc=", ()) == "basic: Basic ***"
    assert scrub_secrets("key sk-proj-AbC_123456789 bad", ()) == "key sk-*** bad"
    assert scrub_secrets("token hunter22 leaked", ("hunter22",)) == "token *** leaked"
    assert scrub_secrets('{"api_key": "zzz", "token":"y"}', ()) == '{"api_key": "***", "token":"***"}'
    assert scrub_secrets("see http://u:p@h/v1", ()) == "see http://***@h/v1"
    assert scrub_secrets("sk-is a word", ()) == "sk-is a word"  # too short to be a key
    assert scrub_secrets("needs Basic authentication; Bearer token", ()) == \
        "needs Basic authentication; Bearer token"
    assert scrub_secrets("Token 0123456789abcdef", ()) == "Token ***"
    assert mask_url_credentials("https://h/v1?api_key=1&x=2&token=3") == \
        "https://h/v1?api_key=***&x=2&token=***"
    assert mask_url_credentials("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert redact_argv(["-o", "base_url=http://u:pw@h/v1", "--out", "x"]) == \
        ["-o", "base_url=http://***@h/v1", "--out", "x"]


def test_public_settings_mask_url_credentials() -> None:
    system = build_system("reamo", {"base_url": "http://alice:pw@h:1/v1", "grounder": "http",
                                    "image_grounder_url": "http://g:pw2@h:2/ground",
                                    "inprocess_options": {"url": "https://k@h/x"},
                                    "grounder_settings": {"asr": {"model": "https://k2@h/m"}}})
    pub = system.settings.public()
    assert pub["base_url"] == "http://***@h:1/v1"
    assert pub["image_grounder_url"] == "http://***@h:2/ground"
    assert pub["inprocess_options"] == {"url": "https://***@h/x"}
    assert pub["grounder_settings"] == {"asr": {"model": "https://***@h/m"}}
    assert "pw" not in json.dumps(pub) and "k2@" not in json.dumps(pub) and "api_key_env" not in pub
