"""Regenerate tests/data/interop/config_assistant/snippet_parse_vectors.json: Config Assistant
snippets (the unit tests' representative inputs plus Hypothesis samples of valid form input) and
what the unmodified upstream `fpl.ParseDocument` read from each, placed where it goes
(tests/data/interop/config_assistant/README.md says how to build the parser harness).

    python3 scripts/snippet_parse_vectors.py /tmp/upfpl/parse
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests/data/interop/config_assistant/snippet_parse_vectors.json"
SAMPLES_PER_BLOCK = 40


def pruned(value: Any) -> Any:
    """Go's JSON without its zero values (null, "", 0, false, {}, [])."""
    if isinstance(value, dict):
        kept = {k: pruned(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", 0, False, {}, [])}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def main(harness: str) -> None:
    sys.path.insert(0, str(ROOT))
    from hypothesis.errors import NonInteractiveExampleWarning

    from faramesh_cloud.fpl.snippets import BLOCKS, generate, in_context
    from tests.unit.fpl.test_snippets import REPRESENTATIVE, VALID

    warnings.simplefilter("ignore", NonInteractiveExampleWarning)
    cases: list[dict[str, Any]] = [{"block": b, "fields": f} for b, f in REPRESENTATIVE]
    for block in sorted(VALID):
        cases += [{"block": block, "fields": VALID[block].example()} for _ in range(SAMPLES_PER_BLOCK)]
    cases = [c for c in cases if BLOCKS[c["block"]].language == "fpl"]
    for case in cases:
        case["text"] = generate(case["block"], case["fields"]).text
    answers = json.loads(subprocess.run([harness], input=json.dumps([in_context(c["block"], c["text"]) for c in cases]),
                                        capture_output=True, text=True, check=True).stdout)
    for case, answer in zip(cases, answers, strict=True):
        case["daemon"] = {"error": answer["error"]} if "error" in answer else pruned(answer["doc"])
    OUT.write_text(json.dumps({
        "source": "Config Assistant snippets (faramesh_cloud/fpl/snippets.py) placed where they go "
                  "(snippets.in_context) and what the unmodified upstream fpl.ParseDocument "
                  "(faramesh/faramesh-core f0a690713cd8c1d72ebee2d0e5d168a17e1dddfb, internal/core/fpl, "
                  "Go 1.19, compiled outside this repository) read from each: its Document as Go JSON "
                  "without zero values, or its error",
        "cases": cases}, ensure_ascii=False, indent=1) + "\n")
    print(f"{len(cases)} cases, {sum('error' in c['daemon'] for c in cases)} refused -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
