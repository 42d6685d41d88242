"""Report PDFs: content, rendering, the signed DPR appendix, the PAdES signature, offline checks."""
