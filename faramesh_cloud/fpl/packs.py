"""The registry packs and framework profiles, verbatim from the faramesh-registry catalogue at
commit ec4508bcdf9e2a2bcff5d1822629f3c40ab9c179 (the snapshot FPL.md §0 and §4 describe), keyed by
`<kind>/<name>@<version>`. `materialize` merges an import from here when the caller passes no
text for it (the test suite checks these texts are byte-identical to the catalogue copies in
tests/data/compliance/fpl/registry/)."""

from __future__ import annotations

REGISTRY_COMMIT = "ec4508bcdf9e2a2bcff5d1822629f3c40ab9c179"

PACKS: dict[str, str] = {
    "frameworks/bedrock@1.0.0": 'runtime {\n  mode = "enforce"\n}\n\nagent "default" {\n  framework "bedrock"\n  default deny\n  rules { permit * }\n}\n',
    "frameworks/claude-code@1.0.0": 'runtime {\n  mode = "enforce"\n}\n\nagent "default" {\n  framework "claude-code"\n  default deny\n  rules { permit * }\n}\n',
    "frameworks/crewai@1.0.0": 'runtime {\n  mode = "enforce"\n}\n\nagent "default" {\n  framework "crewai"\n  default deny\n  rules { permit * }\n}\n',
    "frameworks/cursor@1.0.0": 'runtime {\n  mode = "enforce"\n}\n\nagent "default" {\n  framework "cursor"\n  default deny\n  rules { permit * }\n}\n',
    "frameworks/langchain@1.0.0": 'runtime {\n  mode = "enforce"\n}\n\nagent "default" {\n  framework "langchain"\n  default deny\n  rules { permit * }\n}\n',
    "frameworks/langgraph@1.0.0": 'runtime {\n  mode = "enforce"\n}\n\nagent "default" {\n  framework "langgraph"\n  default deny\n  rules { permit * }\n}\n',
    "frameworks/mcp@1.0.0": 'runtime {\n  mode = "enforce"\n}\n\nagent "default" {\n  framework "mcp"\n  default deny\n  rules { permit * }\n}\n',
    "frameworks/openai-agents@1.0.0": 'runtime {\n  mode = "enforce"\n}\n\nagent "default" {\n  framework "openai-agents"\n  default deny\n  rules { permit * }\n}\n',
    "policies/faramesh/demo@0.1.0": 'agent "demo-pack" {\n  default deny\n  rules {\n    permit echo/*\n    deny! shell/*\n  }\n}\n',
    "policies/faramesh/github@1.0.0": 'agent "default" {\n  default deny\n  rules {\n    permit github/repos/read\n    permit github/issues/*\n    permit github/pulls/*\n    permit github/contents/read\n    defer github/contents/write notify "#code-review"\n    deny! github/git/force_push\n    deny! github/repos/delete\n  }\n}\n',
    "policies/faramesh/mcp@1.0.0": 'agent "default" {\n  default deny\n  rules {\n    permit mcp/tools/list\n    permit mcp/tools/call\n    defer mcp/tools/call when tool =~ "write|upload|send" notify "#mcp-approvals"\n    deny mcp/resources/write\n  }\n}\n',
    "policies/faramesh/openai@1.0.0": 'agent "default" {\n  default deny\n  rules {\n    permit openai/chat\n    permit openai/embeddings\n    deny openai/fine_tuning\n  }\n}\n',
    "policies/faramesh/shell@1.0.0": 'agent "ops-agent" {\n  default deny\n  rules {\n    deny! shell/rm_rf\n    deny! shell/pipe_to_shell\n    permit shell/read when path matches "/tmp/*"\n  }\n}\n',
    "policies/faramesh/stripe@1.0.0": 'agent "payment-bot" {\n  default deny\n  rules {\n    permit stripe/charge when amount <= 2000\n    permit stripe/refund when amount <= 500\n    defer stripe/charge when amount > 2000 notify "#payments"\n  }\n}\n',
}
