"""galzoo_tools: the helpers behind the galzoo notebooks (Walmsley et al. 2022, MNRAS 513, 1581)."""

__version__ = "0.1.0"

REPOSITORY_URL = "https://github.com/galzoo/galzoo"
"""Where galzoo lives. Every notebook's Colab install cell and "Open in Colab" badge, and the
README's Colab links, name this repository; ``tests/test_colab.py`` keeps them the same."""
