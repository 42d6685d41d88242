#!/usr/bin/env python3
"""Spins on the CPU and never listens."""

if __name__ == "__main__":
    n = 0
    while True:
        n += 1
