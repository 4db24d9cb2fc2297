"""Every test and every notebook kernel started by nbval runs at the tiny scale."""

import os

os.environ["GALZOO_SCALE"] = "tiny"
os.environ.setdefault("MPLBACKEND", "Agg")
