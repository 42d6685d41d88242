"""The global directory of a multi-region install (docs/deployment.md "Regions").

Which region holds each organisation, each person's home region, and which region issued
each stack (and stack key). It is the only state shared by regions; no DPR, approval or
report ever goes in it. ``port`` is the port, ``region`` what a region's processes use.
"""
