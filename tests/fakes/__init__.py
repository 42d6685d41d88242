"""Local fakes (127.0.0.1 HTTP servers) of third-party SaaS APIs, speaking their real paths,
auth headers, pagination and error bodies. Tests only."""
