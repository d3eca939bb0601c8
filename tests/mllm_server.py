"""Real HTTP servers on 127.0.0.1 for the MLLM tests (and the README's worked example).

:class:`ChatServer` implements ``POST /v1/chat/completions`` of the OpenAI API. It answers
from a script ``{key: [step, ...]}``. A request matches a key when each `` && ``-separated
part of the key occurs in its user text, where ``sha256:<hex>`` of every attached file
(image / video data URL, input audio) counts as text; the longest matching key wins. The
key's steps play in order, one per request; after the last, the last repeats. A step is a
string (the answer), ``{"status": 429, "retry_after": "0.2"}`` / ``{"status": 500}`` (an
error; ``"echo_auth": true`` puts the request's ``Authorization`` header into the error body,
as some servers do), ``{"sleep": seconds, "content": "..."}`` (a slow answer),
``{"drip": seconds, "content": "..."}`` (headers at once, then the body one byte per
``seconds``; ``"head": true`` drips the status line and headers too), ``{"json": ...}`` (that JSON body with status 200, e.g. ``content: null`` or
no ``choices``) or ``{"body": "...", "content_type": "text/html"}`` (that raw body with
status 200 or ``"status"``). Requests without a matching key get ``default``. Every request is recorded in ``requests``; ``max_inflight`` is
the most requests it was answering at once.

:class:`GrounderServer` implements the grounder contract of
``muie_bench.systems.grounding_invocations`` from a table ``phrase -> answer``.

Run ``python tests/mllm_server.py SCRIPT.json [PORT]`` to serve a chat script by hand.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import threading
import time
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Raw:
    """A reply body: ``data`` sent with ``content_type``, one byte per ``drip`` seconds when
    ``drip`` > 0 (from the status line on when ``head``)."""

    def __init__(self, data: bytes, content_type: str = "application/json",
                 drip: float = 0.0, head: bool = False) -> None:
        self.data, self.content_type, self.drip, self.head = data, content_type, drip, head


class _Base(ABC):
    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.inflight = 0
        self.max_inflight = 0
        handler = self._handler()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> _Base:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @abstractmethod
    def respond(self, path: str, body: dict[str, Any],
                headers: dict[str, str]) -> tuple[int, dict[str, str], Any, float]:
        """(status, headers, JSON body or :class:`Raw`, delay in seconds) for one request
        (``headers``: the request headers, names in lower case)."""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(n) or b"{}")
                with server.lock:
                    server.requests.append({"path": self.path, "body": body,
                                            "auth": self.headers.get("Authorization")})
                    server.inflight += 1
                    server.max_inflight = max(server.max_inflight, server.inflight)
                try:
                    status, headers, payload, sleep = server.respond(
                        self.path, body, {k.lower(): v for k, v in self.headers.items()})
                    if sleep:
                        time.sleep(sleep)
                finally:
                    with server.lock:
                        server.inflight -= 1
                raw = payload if isinstance(payload, Raw) else Raw(json.dumps(payload).encode())
                try:
                    if raw.head:  # the whole response, status line first, drips
                        self.close_connection = True
                        whole = (f"HTTP/1.1 {status} OK\r\nContent-Type: {raw.content_type}\r\n"
                                 f"Content-Length: {len(raw.data)}\r\n\r\n").encode() + raw.data
                        for i in range(len(whole)):
                            time.sleep(raw.drip)
                            self.wfile.write(whole[i:i + 1])
                        return
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", raw.content_type)
                    self.send_header("Content-Length", str(len(raw.data)))
                    self.end_headers()
                    if raw.drip <= 0:
                        self.wfile.write(raw.data)
                        return
                    self.wfile.flush()
                    for i in range(len(raw.data)):
                        time.sleep(raw.drip)
                        self.wfile.write(raw.data[i:i + 1])
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        return Handler


def completion(content: str, model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def user_text(body: dict[str, Any]) -> str:
    """The text parts of the user messages, then ``sha256:<hex>`` of each attached file
    (image / video data URLs and input audio), so scripts can key on the media."""
    out: list[str] = []
    for m in body.get("messages", []):
        if m.get("role") != "user":
            continue
        c = m.get("content")
        if isinstance(c, str):
            out.append(c)
            continue
        for p in c:
            kind = p.get("type")
            if kind == "text":
                out.append(p.get("text", ""))
            elif kind in ("image_url", "video_url", "input_audio"):
                data = (p[kind].get("data") if kind == "input_audio"
                        else p[kind]["url"].split("base64,", 1)[-1])
                out.append("sha256:" + hashlib.sha256(base64.b64decode(data)).hexdigest())
    return "\n".join(out)


def _matches(key: str, text: str) -> bool:
    """A key matches when each of its `` && ``-separated parts occurs in the text."""
    return all(part in text for part in key.split(" && "))


class ChatServer(_Base):
    """Scripted OpenAI chat-completions server (see the module docstring)."""

    def __init__(self, script: dict[str, list[Any]], default: str = "None",
                 port: int = 0) -> None:
        self.script = script
        self.default = default
        self.played: dict[str, int] = {}
        super().__init__(port)

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def respond(self, path: str, body: dict[str, Any],
                headers: dict[str, str]) -> tuple[int, dict[str, str], Any, float]:
        if path.rstrip("/") != "/v1/chat/completions":
            return 404, {}, {"error": {"message": f"no route {path}"}}, 0.0
        text = user_text(body)
        key = next((k for k in sorted(self.script, key=len, reverse=True) if _matches(k, text)),
                   None)
        if key is None:
            return 200, {}, completion(self.default, body.get("model", "")), 0.0
        with self.lock:
            i = self.played.get(key, 0)
            self.played[key] = i + 1
        steps = self.script[key]
        step = steps[min(i, len(steps) - 1)]
        if isinstance(step, str):
            return 200, {}, completion(step, body.get("model", "")), 0.0
        model = body.get("model", "")
        if "json" in step:
            return 200, {}, step["json"], 0.0
        if "body" in step:
            raw = Raw(step["body"].encode(), step.get("content_type", "text/html"))
            return int(step.get("status", 200)), {}, raw, 0.0
        if "drip" in step:
            data = json.dumps(completion(step["content"], model)).encode()
            return 200, {}, Raw(data, drip=float(step["drip"]), head=bool(step.get("head"))), 0.0
        if "status" in step:
            out = {"Retry-After": str(step["retry_after"])} if "retry_after" in step else {}
            text = f"scripted {step['status']}"
            if step.get("echo_auth"):
                text += f": invalid credentials (Authorization: {headers.get('authorization')})"
            msg = {"error": {"message": text, "type": "test"}}
            return int(step["status"]), out, msg, 0.0
        return 200, {}, completion(step["content"], model), float(step["sleep"])


class GrounderServer(_Base):
    """Grounder server: ``answers[phrase]`` is the JSON response (default: not found)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        super().__init__()

    def respond(self, path: str, body: dict[str, Any],
                headers: dict[str, str]) -> tuple[int, dict[str, str], Any, float]:
        phrase = body.get("text", "")
        if phrase in self.answers:
            ans = self.answers[phrase]
            if isinstance(ans, int):
                return ans, {}, {"error": "scripted"}, 0.0
            return 200, {}, ans, 0.0
        empty = {"image": {"mask": None}, "video": {"track": None}, "audio": {"segments": []}}
        return 200, {}, empty.get(body.get("modality", ""), {}), 0.0


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        chat = ChatServer(json.load(f), port=int(sys.argv[2]) if len(sys.argv) > 2 else 0)
    print(f"serving chat completions at {chat.base_url}", flush=True)
    chat.httpd.serve_forever()
