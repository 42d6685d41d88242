"""Record a stored log: what another version of Faramesh Cloud wrote to its log during a short
``up --demo`` run that people acted in, with what that version showed them over REST
(``tests/data/stored_logs/``; ``tests/integration/test_stored_log_replay.py`` replays it
through today's services).

Run it with the Python environment of the version to record (its ``faramesh_cloud`` installed;
this script uses only what that version has: its CLI, REST API, sync client and log reader):

    git -C /work/main worktree add --detach /work/wt-old <commit>
    python3 -m venv --system-site-packages /work/venv-old
    /work/venv-old/bin/pip install --no-deps -e /work/wt-old
    cd /work/wt-old && /work/venv-old/bin/python <this repo>/scripts/record_stored_log.py \\
        --commit <commit> --vectors <this repo>/tests/data/interop/vectors \\
        --out <this repo>/tests/data/stored_logs/<commit>.jsonl.gz

What it does: ``faramesh-cloud up --demo`` in a scratch data dir (the demo's three stacks and
their simulated daemons); a person signs in (the first owner), routes approval requests and
chain-integrity alerts to a local webhook, registers a fourth stack and pins a key for it
that its "daemon" does not sign with, feeds the legacy Horizon feed, pushes the interop
vectors' tampered chain over the sync API, acknowledges an alert, approves one approval,
denies one, loses a race for the first, approves a pattern in bulk, kills one agent and
isolates another; the daemons apply what Cloud sent. Cloud is stopped and started again
without the demo (so every buffered item is on the log and every consumer reads it), what
people see over REST is read, and the log is dumped, every topic's records in order.

The file (gzip, one JSON document a line): a header (format, commit, command, when), the
registry (organisations, stacks and pinned keys: not on the log), what REST showed, then one
line a record: ``t`` topic, ``p`` partition, ``o`` offset, ``k`` key and ``v`` value
(base64), ``h`` headers (name, base64 value), ``ts`` the log's timestamp in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import gzip
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg

FORMAT = "faramesh-cloud stored log 1"
PASSWORD = "correct horse battery staple"
OWNER = "owner@example.test"
OTHER_KEY = "O2onvM62pC1io6jQKm8Nc2UyFXcd4kOmOsBIoYtZ2ik="  # Ed25519 public key of 32 zero bytes
DEMO_SECONDS = 40.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def free_range(width: int = 6) -> int:
    for _ in range(200):
        base = random.randrange(20000, 32000 - width)
        ok = True
        for port in range(base, base + width):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free internal port range")


@contextlib.contextmanager
def webhook() -> Iterator[tuple[str, list[bytes]]]:
    heard: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            heard.append(self.rfile.read(int(self.headers.get("content-length", "0"))))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", heard
    finally:
        server.shutdown()


class Up:
    """``faramesh-cloud up`` of the version being recorded, on a data dir and fixed ports."""

    def __init__(self, data_dir: Path, demo: bool, ports: tuple[int, int, int]) -> None:
        self.http, self.sync, base = ports
        env = {**os.environ, "FARAMESH_CLOUD_INTERNAL_BASE_PORT": str(base),
               "FARAMESH_CLOUD_EMERGENCY_POLL_INTERVAL_S": "1", "FARAMESH_CLOUD_ALLOW_PRIVATE_DESTINATIONS": "true",
               "FARAMESH_CLOUD_DISCONNECT_AFTER_S": "3600"}
        argv = [sys.executable, "-m", "faramesh_cloud", "up", "--data-dir", str(data_dir),
                "--http-port", str(self.http), "--sync-port", str(self.sync)] + (["--demo"] if demo else [])
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{self.http}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.3)
        raise SystemExit("up did not become healthy")

    def output(self) -> str:
        out, _ = self.proc.communicate(timeout=60)
        return out.decode(errors="replace")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        self.output()
        if self.proc.returncode != 0:
            raise SystemExit(f"up exited {self.proc.returncode}")


class Person:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.csrf = ""
        self.org = ""

    def sign_in(self) -> None:
        form = self.http.get("/setup")
        if form.status_code == 200:
            slug = _field(form.text, "org_slug")
            answer = self.http.post("/setup", data={
                "name": "Owner", "email": OWNER, "password": PASSWORD, "org_name": _field(form.text, "org_name"),
                "org_slug": slug, "csrf_token": _csrf(form.text)})
        else:
            form = self.http.get("/login")
            answer = self.http.post("/login", data={"email": OWNER, "password": PASSWORD, "next": "/",
                                                    "csrf_token": _csrf(form.text)})
            slug = self.org
        assert answer.status_code == 303, answer.text[:300]
        self.org = slug
        self.csrf = _csrf(self.http.get(f"/o/{slug}/approvals").text)

    @property
    def api(self) -> str:
        return f"/api/v1/orgs/{self.org}"

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(self.api + path, params=params)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return response.json()

    def send(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        response = self.http.request(method, self.api + path, json=body, headers={"x-csrf-token": self.csrf})
        assert response.status_code == expect, (path, response.status_code, response.text[:300])
        return response.json()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:300]
    return found.group(1)


def _field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    return found.group(1) if found else ""


def until(check: Any, what: str, within_s: float = 90.0) -> Any:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    raise SystemExit(f"gave up waiting for {what}")


async def push_tampered(target: str, roots: bytes, key: str, lines: list[bytes]) -> None:
    from faramesh_cloud_api.sync.v1 import push_pb2

    from faramesh_cloud.rpc.sync_client import SyncClient

    client = SyncClient(target, key, root_certificates=roots)
    try:
        buffer = str(uuid.uuid4())
        await client.hello(buffer)
        items = [push_pb2.PushItem(sequence=i + 1, dpr_record=push_pb2.DprRecord(
            record_json=raw, frame_crc32=zlib.crc32(raw))) for i, raw in enumerate(lines)]
        response = await client.push(buffer, items)
        assert not response.rejections, response
    finally:
        await client.close()


def act(person: Person, data_dir: Path, sync: int, vectors: Path, hook: str) -> dict[str, Any]:
    """What people do while the demo runs; returns notes for the header."""
    destination = person.send("POST", "/notifications/destinations",
                              {"name": "oncall", "kind": "webhook", "url": hook}, 201)
    for subject in ("approvals", "chain_integrity"):
        person.send("PUT", "/notifications/routing-rules",
                    {"subject": subject, "steps": [{"after_minutes": 0, "destinations": [destination["destination_id"]]}]})
    stack = person.send("POST", "/stacks", {"name": "tampered-prod", "environment": "demo"}, 201)
    person.send("POST", f"/stacks/{stack['stack_id']}/signing-keys",
                {"public_key": OTHER_KEY, "label": "the vendor's key"}, 201)
    saved = json.loads((data_dir / "demo" / "keys.json").read_text())
    horizon = (vectors / "horizon_ingest_batch_example.json").read_bytes().replace(
        b'"org_id":"org_01HZX3EXAMPLE"', f'"org_id":"{saved["org_id"]}"'.encode())
    for key in (stack["api_key"], saved["stacks"][-1]["api_key"]):
        fed = person.http.post("/v1/ingest/dpr", content=horizon,
                               headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        assert fed.status_code == 200, fed.text
    roots = (data_dir / "tls" / "sync-cert.pem").read_bytes()
    lines = (vectors / "dpr_chain_tampered_field.jsonl").read_bytes().splitlines()
    asyncio.run(push_tampered(f"127.0.0.1:{sync}", roots, stack["api_key"], lines))
    alerts = until(lambda: [a for a in person.get("/audit/alerts") if a["stack_id"] == stack["stack_id"]
                            and a["kind"] == "record_hash_mismatch"], "an alert")
    person.send("POST", f"/audit/alerts/{alerts[0]['alert_id']}/acknowledge", {"note": "the edit was our drill"})

    time.sleep(max(0.0, DEMO_SECONDS - 10))  # the demo fleet decides calls; approvals queue up
    queue = person.get("/approvals")
    patterns = Counter((a["agent_id"], a["tool_id"], a["matched_rule_id"]) for a in queue)
    pattern, _ = patterns.most_common(1)[0]
    group = [a["approval_id"] for a in queue if (a["agent_id"], a["tool_id"], a["matched_rule_id"]) == pattern]
    single = [a["approval_id"] for a in queue if a["approval_id"] not in group]
    person.send("POST", f"/approvals/{single[0]}/decision", {"verdict": "approve", "reason": "verified by phone"})
    person.send("POST", f"/approvals/{single[0]}/decision", {"verdict": "deny", "reason": "changed my mind"}, 409)
    person.send("POST", f"/approvals/{single[1]}/decision", {"verdict": "deny", "reason": "not on weekends"})
    person.send("POST", "/approvals/bulk-decision", {"approval_ids": group, "verdict": "approve",
                                                     "reason": "known refund run"})
    stacks = {s["name"]: s["stack_id"] for s in person.get("/stacks")}
    person.send("POST", f"/stacks/{stacks['payments-prod']}/agents/payments-bot/kill", {"reason": "runaway refunds"},
                201)
    person.send("POST", f"/stacks/{stacks['support-staging']}/agents/support-triage/isolate",
                {"reason": "odd tool use"}, 201)
    decided = {single[0], single[1], *group}

    def applied() -> bool:
        history = {a["approval_id"]: a for a in person.get("/approvals/history")}
        return (all(i in history and history[i]["daemon_state"] == history[i]["state"] for i in decided)
                and all(c["state"] == "acknowledged" for c in person.get("/emergency-commands")))
    until(applied, "the daemons to apply every decision and command")
    return {"decided": sorted(decided), "bulk": group}


def shown(person: Person) -> dict[str, Any]:
    """What people see over REST."""
    records, cursor = [], None
    while True:
        page = person.get("/audit/records", limit=1000, **({"cursor": cursor} if cursor else {}))
        records += page["records"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    stacks = person.get("/fleet/stacks")
    return {
        "queue": person.get("/approvals"), "history": person.get("/approvals/history"),
        "commands": person.get("/emergency-commands"),
        "alerts": person.get("/audit/alerts"), "integrity": person.get("/audit/integrity"),
        "counts": person.get("/audit/counts"), "records": records, "fleet": stacks,
        "agents": {s["stack_id"]: person.get(f"/fleet/stacks/{s['stack_id']}/agents") for s in stacks},
        "budget_burn": person.get("/fleet/budget-burn"),
        "destinations": person.get("/notifications/destinations"),
        "rules": person.get("/notifications/routing-rules"),
        "deliveries": person.get("/notifications/deliveries", limit=500),
        "signing_keys": {s["stack_id"]: person.get(f"/stacks/{s['stack_id']}/signing-keys") for s in stacks},
    }


def caught_up(url: str) -> bool:
    with psycopg.connect(url) as conn:
        behind = conn.execute(
            "SELECT count(*) FROM log_groups g JOIN log_partitions p USING (topic_id) "
            "LEFT JOIN log_group_offsets o ON o.group_id = g.group_id AND o.partition = p.partition "
            "WHERE p.next_offset > coalesce(o.next_offset, 0)").fetchone()
    return bool(behind is not None and behind[0] == 0)


def registry(url: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    with psycopg.connect(url) as conn:
        for table in ("orgs", "stacks", "stack_signing_keys"):
            cur = conn.execute(f"SELECT * FROM {table}")
            names = [c.name for c in cur.description or ()]
            out[table] = [{n: (v.isoformat() if isinstance(v, dt.datetime) else v if v is None or isinstance(
                v, bool | int) else str(v)) for n, v in zip(names, row, strict=True)} for row in cur.fetchall()]
    return out


async def dump_log(url: str) -> list[dict[str, Any]]:
    from faramesh_cloud.log.postgres import PostgresLog
    from faramesh_cloud.sql.database import Database

    found: list[dict[str, Any]] = []
    async with Database(url, max_size=2) as db:
        log = PostgresLog(db)
        await log.start()
        try:
            async with db.connection() as conn:
                topics = [r[0] for r in await (await conn.execute("SELECT name FROM log_topics ORDER BY name")).fetchall()]
            for topic in topics:
                total = sum((await log.end_offsets(topic)).values())
                consumer = await log.consumer(topic, f"recorder-{uuid.uuid4().hex}")
                got = []
                try:
                    while len(got) < total:
                        got.extend(await consumer.poll(max_records=1000, timeout_s=1.0))
                finally:
                    await consumer.close()
                for m in sorted(got, key=lambda m: (m.partition, m.offset)):
                    found.append({"t": m.topic, "p": m.partition, "o": m.offset, "k": _b64(m.key), "v": _b64(m.value),
                                  "h": [[n, _b64(v)] for n, v in m.headers.items()], "ts": m.timestamp_ms})
        finally:
            await log.close()
    return found


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commit", required=True, help="the commit of the version running this script")
    parser.add_argument("--vectors", type=Path, required=True, help="tests/data/interop/vectors")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="faramesh-stored-log-")) / "cloud"
    ports = (free_port(), free_port(), free_range())
    url = f"postgresql://postgres@/faramesh?host={data_dir / 'postgres'}"
    with webhook() as (hook, heard):
        up = Up(data_dir, True, ports)
        try:
            until(lambda: (data_dir / "demo" / "keys.json").exists(), "the demo's stacks")
            person = Person(f"http://127.0.0.1:{ports[0]}")
            person.sign_in()
            notes = act(person, data_dir, ports[1], args.vectors, hook)
        finally:
            up.stop()
        up = Up(data_dir, False, ports)  # no daemons: everything they buffered is on the log now
        try:
            person = Person(f"http://127.0.0.1:{ports[0]}")
            person.org = slug = json.loads((data_dir / "demo" / "keys.json").read_text())["org_slug"]
            person.sign_in()
            until(lambda: caught_up(url), "every consumer to read the log to its end")
            time.sleep(2)
            seen = shown(person)
            records = asyncio.run(dump_log(url))
            held = registry(url)
        finally:
            up.stop()
        notes["webhook_requests"] = len(heard)
    header = {"format": FORMAT, "commit": args.commit, "org_slug": slug,
              "recorded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "command": "faramesh-cloud up --demo (scripts/record_stored_log.py)", "notes": notes}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8", compresslevel=9) as out:
        for line in ({"header": header}, {"registry": held}, {"shown": seen}, *records):
            out.write(json.dumps(line, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"{args.out}: {len(records)} records, {args.out.stat().st_size} bytes")


if __name__ == "__main__":
    main()
