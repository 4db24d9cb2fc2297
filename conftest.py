"""Every test and every notebook kernel started by nbval runs at the tiny scale.

This file sits at the repository root so it also applies when only notebooks/ is collected.
"""

import os

os.environ["GALZOO_SCALE"] = "tiny"
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests and CI never reach a model hub: ImageNet weights come from the packaged EfficientNet-Lite0.
os.environ.setdefault("GALZOO_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
