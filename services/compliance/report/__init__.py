"""Report PDFs: content, rendering, the signed DPR appendix, the PAdES signature, offline checks."""

import warnings

# cryptography 51 deprecates DSA and warns when a module imports its types; pyHanko does, for the
# signers it offers. Reports are signed and checked with ECDSA only: the warning would only
# confuse a person running verify-report.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"pyhanko(\..*)?")
