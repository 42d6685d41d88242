#!/usr/bin/env python3
"""Never listens: sleeps until it is killed."""

import time

if __name__ == "__main__":
    while True:
        time.sleep(60)
