"""Config Assistant snippets against the upstream daemon parser's own answers
(tests/data/interop/config_assistant): the generator still writes each text, the unmodified
upstream `fpl.ParseDocument` read back exactly the values entered, and `fpl.strict` reads the
same as upstream."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from faramesh_cloud.fpl.snippet_fields import condition
from faramesh_cloud.fpl.snippets import REGISTRY, generate, in_context
from faramesh_cloud.fpl.strict import parse_strict

DATA = Path(__file__).resolve().parents[2] / "data" / "interop" / "config_assistant"
CASES: list[dict[str, Any]] = json.loads((DATA / "snippet_parse_vectors.json").read_text())["cases"]


def _go_config(value: dict[str, Any]) -> tuple[str, str]:
    return value["Kind"], value.get("EnvVar") if value["Kind"] == "env" else value.get("String", "")


def upstream_read_the_values(block: str, v: dict[str, Any], doc: dict[str, Any]) -> None:
    if block == "runtime":
        want = {k: ("string", v[k]) for k in ("mode", "wal_dir", "log_level") if v.get(k)}
        want |= {"cloud_url": ("string", v["cloud_url"]), "cloud_api_key": ("env", v.get("api_key_env") or
                                                                             "FARAMESH_CLOUD_API_KEY")}
        assert {k: _go_config(c) for k, c in doc["Runtime"]["Fields"].items()} == want
    elif block == "agent":
        ag = doc["Agents"][0]
        assert (ag["ID"], ag.get("Default"), ag.get("Model", ""), ag.get("Framework", "")) == (
            v["id"], v.get("default") or "deny", v.get("model", ""), v.get("framework", ""))
    elif block == "rule":
        rule = doc["Agents"][0]["Rules"][0]
        assert (rule["Effect"], rule["Tool"], rule.get("Notify", ""), rule.get("Reason", "")) == (
            v["effect"], v["tool"], v.get("notify", ""), v.get("reason", ""))
        assert set(rule) <= {"Effect", "Tool", "Condition", "Notify", "Reason"}  # no network clause crept in
        assert rule.get("Condition", "") == (condition(v["condition"]) if v.get("condition") else "")
    elif block == "budget":
        b = doc["Agents"][0]["Budgets"][0]
        assert b["ID"] == (v.get("id") or "session") and b["OnExceed"] == (v.get("on_exceed") or "deny")
        for go, name in (("Max", "max"), ("Daily", "daily"), ("WarnAt", "warn_at")):
            assert b.get(go, 0) == (float(Decimal(v[name])) if v.get(name) else 0)
    elif block == "provider":
        [p] = doc["Providers"]
        want = {"type": ("string", v["type"])} | ({"source": ("string", v["source"])} if v.get("source") else {})
        for i in range(1, 4):
            if v.get(f"setting{i}_key"):
                kind = "env" if v.get(f"setting{i}_env") else "string"
                want[v[f"setting{i}_key"]] = (kind, v[f"setting{i}_value"])
        assert p["Name"] == v["name"] and {k: _go_config(c) for k, c in p["Fields"].items()} == want
    elif block == "pack":
        [imp] = doc["Imports"]
        assert imp["Ref"] == f"{REGISTRY}/{v['kind']}/{v['name']}@{v['version']}"
        assert imp.get("Alias", "") == v.get("alias", "")
    elif block == "trust":
        key = base64.b64encode(base64.b64decode(v["public_key"].removeprefix("ed25519:"))).decode()
        assert doc["Trust"]["Raw"] == [f"key {v.get('registry') or REGISTRY} ed25519:{key}"]
    else:  # pragma: no cover
        raise AssertionError(block)


def strict_agrees(block: str, text: str, doc: dict[str, Any]) -> None:
    mine = parse_strict(in_context(block, text))
    if block == "rule":
        rule, go = mine.agents[0].rules[0], doc["Agents"][0]["Rules"][0]
        assert (rule.effect, rule.tool, rule.condition, rule.notify, rule.reason) == (
            go["Effect"], go["Tool"], go.get("Condition", ""), go.get("Notify", ""), go.get("Reason", ""))
    elif block == "runtime":
        assert {k: (c.kind, c.text) for k, c in mine.runtime.items()} == {
            k: _go_config(c) for k, c in doc["Runtime"]["Fields"].items()}
    elif block == "budget":
        b, go = mine.agents[0].budgets[0], doc["Agents"][0]["Budgets"][0]
        assert (b.max_usd or 0, b.daily_usd or 0, b.warn_at or 0) == (go.get("Max", 0), go.get("Daily", 0),
                                                                       go.get("WarnAt", 0))
    elif block == "trust":
        assert mine.trust_lines == doc["Trust"]["Raw"]


def test_the_vectors_cover_every_fpl_block_type() -> None:
    assert {c["block"] for c in CASES} == {"runtime", "agent", "rule", "budget", "provider", "pack", "trust"}
    assert len(CASES) > 250 and not [c for c in CASES if "error" in c["daemon"]]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['block']}-{i}" for i, c in enumerate(CASES)])
def test_upstream_parser_reads_back_what_was_entered(case: dict[str, Any]) -> None:
    assert generate(case["block"], case["fields"]).text == case["text"]  # else rerun scripts/snippet_parse_vectors.py
    upstream_read_the_values(case["block"], case["fields"], case["daemon"])
    strict_agrees(case["block"], case["text"], case["daemon"])
