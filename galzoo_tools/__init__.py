"""galzoo_tools: the helpers behind the galzoo notebooks (Walmsley et al. 2022, MNRAS 513, 1581)."""

__version__ = "0.1.0"
