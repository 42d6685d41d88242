#!/usr/bin/env python3
"""Forks without end (every child forks too), retrying when a fork is refused."""

import os
import time

if __name__ == "__main__":
    while True:
        try:
            os.fork()
        except OSError:
            time.sleep(0.01)
