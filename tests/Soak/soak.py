#!/usr/bin/env python3
"""A bounded mixed soak against a running service (demo models): fill-mask, chat (plain and streamed),
language-vector PUT/GET/DELETE, models and health, from N client threads for D seconds.

Counts statuses per route, reads the server's RSS at start and end (from /proc/<pid>/status), and
checks that nothing acknowledged was lost: each language belongs to one thread, which remembers its
last acknowledged PUT (corpus digest) or DELETE; at the end GET must agree with every one.

    /usr/bin/python3 tests/Soak/soak.py --url http://127.0.0.1:5000 --pid <server pid> --seconds 60 --clients 16
"""
import argparse, collections, hashlib, json, random, threading, time, urllib.error, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--url", default="http://127.0.0.1:5000")
parser.add_argument("--pid", type=int, required=True)
parser.add_argument("--seconds", type=float, default=60)
parser.add_argument("--clients", type=int, default=16)
args = parser.parse_args()

def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024

def call(method, path, body=None, timeout=120):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(args.url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except Exception as e:  # connection reset, timeout: counted, never hidden
        return type(e).__name__, b""

statuses = collections.Counter()
lock = threading.Lock()
lost = []
languages = ["de", "es", "it", "nl", "pt", "sv", "pl", "cs", "ro", "hu", "fi", "da", "no", "tr", "el", "bg"]

def digest(sentences):
    h = hashlib.sha256()
    for s in sentences:
        h.update((s + "\n").encode())
    return h.hexdigest()

def worker(index, deadline):
    rng = random.Random(index)
    owned = languages[index::args.clients] or []
    last = {}  # language -> digest of the last acknowledged PUT, or None after an acknowledged DELETE
    while time.time() < deadline:
        kind = rng.choices(["fill", "chat", "stream", "put", "get", "delete", "models", "health"], [30, 10, 5, 4, 10, 3, 5, 5])[0]
        if kind in ("put", "delete") and not owned:
            kind = "fill"
        if kind == "fill":
            route, (status, _) = "POST /v1/fill-mask", call("POST", "/v1/fill-mask", {"text": f"Paris is the capital of [MASK] {rng.randint(0, 99)}.", "top_k": 5})
        elif kind in ("chat", "stream"):
            route = "POST /v1/chat/completions" + (" (stream)" if kind == "stream" else "")
            status, _ = call("POST", "/v1/chat/completions", {"model": model, "messages": [{"role": "user", "content": f"hello {rng.randint(0, 99)}"}], "max_tokens": 16, "stream": kind == "stream"})
        elif kind == "put":
            language = rng.choice(owned)
            sentences = [f"sentence {rng.randint(0, 10**6)} of {language}" for _ in range(rng.randint(1, 40))]
            route, (status, _) = "PUT /v1/language-vectors/{language}", call("PUT", f"/v1/language-vectors/{language}", {"sentences": sentences})
            if status == 200:
                last[language] = digest(sentences)
        elif kind == "delete":
            language = rng.choice(owned)
            route, (status, _) = "DELETE /v1/language-vectors/{language}", call("DELETE", f"/v1/language-vectors/{language}")
            if status in (204, 404):
                last[language] = None
        elif kind == "get":
            route, (status, _) = "GET /v1/language-vectors/{language}", call("GET", f"/v1/language-vectors/{rng.choice(languages)}")
        elif kind == "models":
            route, (status, _) = "GET /v1/models", call("GET", "/v1/models")
        else:
            route, (status, _) = "GET /health/ready", call("GET", "/health/ready")
        with lock:
            statuses[(route, status)] += 1
    for language, expected in last.items():
        status, body = call("GET", f"/v1/language-vectors/{language}")
        actual = json.loads(body)["corpus_digest"] if status == 200 else None
        if actual != expected:
            with lock:
                lost.append((language, expected, actual, status))

model = json.loads(call("GET", "/v1/models")[1])["data"]
model = next(m["id"] for m in model if m.get("task") == "chat")
rss_start = rss_mb(args.pid)
started = time.time()
threads = [threading.Thread(target=worker, args=(i, started + args.seconds)) for i in range(args.clients)]
for t in threads: t.start()
for t in threads: t.join()
elapsed = time.time() - started
rss_end = rss_mb(args.pid)

total = sum(statuses.values())
print(f"{total} requests in {elapsed:.1f} s from {args.clients} clients ({total / elapsed:.1f}/s)")
for (route, status), count in sorted(statuses.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
    print(f"  {route:45} {status}: {count}")
print(f"5xx or transport errors: {sum(c for (r, s), c in statuses.items() if not isinstance(s, int) or s >= 500)}")
print(f"RSS start {rss_start} MB, end {rss_end} MB")
print(f"acknowledged PUT/DELETE lost: {len(lost)}" + (f" {lost}" if lost else ""))
