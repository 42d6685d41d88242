#!/usr/bin/env python3
"""Refuses to start: a message on stderr and status 2, before listening."""

import sys

if __name__ == "__main__":
    print("vault_addr is required", file=sys.stderr)
    sys.exit(2)
