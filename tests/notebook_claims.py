"""Find numbers in a notebook's prose that its own outputs never print.

A tutorial is trusted only while every sentence is true, so each number written in a markdown
cell must be one the notebook itself prints (rounded as the prose rounds it), unless it is

- inside a paper quotation: a blockquote whose first line starts with ``> **Paper``;
- in a references list: everything after a ``References`` heading (or bold line) of a cell;
- on the header's ``**Runtime`` line: runtimes at other scales than the one executed cannot be printed;
- inside code (inline ``code`` or a fenced block), a link target, or an HTML tag;
- part of a name (``DR5``, ``Lite0``, ``r50``, ``notebook 02``'s ``02``), a year, or a small
  count/ordinal (0-12), or one of :data:`FACTS` (fixed facts of the data format, not results).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

FACTS = {
    10: "questions in the GZ DECaLS DR5 decision tree",
    34: "answers (vote-count columns) in that tree",
    1280: "features of an EfficientNet-Lite0 encoder",
    100: "per cent, and the largest Dirichlet concentration",
    50: "per cent (half)",
    40: "the most volunteers a GZ DECaLS galaxy gets (about)",
}
"""Numbers that may appear in prose without being printed: facts of the format, not results."""

SMALL_COUNT = 12
NUMBER = re.compile(r"(?<![\w.\-/])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(\s?%|\s?×)?(?![\w/])")
OUTPUT_NUMBER = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?")


@dataclass(frozen=True)
class Claim:
    """One number in a markdown cell that the outputs do not show."""

    cell: int
    text: str
    line: str

    def __str__(self) -> str:
        return f"cell {self.cell}: {self.text!r} in {self.line.strip()[:100]!r}"


def _strip_exempt(markdown: str) -> str:
    """The prose with code, links, HTML tags and paper quotations removed."""
    markdown = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    markdown = re.split(r"^\s*(?:#+\s*|\*\*)(?:Further reading|References|Reading)\b.*$", markdown, maxsplit=1, flags=re.M)[0]
    kept, in_paper = [], False
    for line in markdown.splitlines():
        if line.lstrip("-* ").startswith("Runtime") and line.lstrip().startswith(("**Runtime", "- **Runtime", "* **Runtime")):
            continue
        if line.lstrip().startswith(">"):
            body = line.lstrip()[1:].lstrip()
            if body.startswith("**Paper"):
                in_paper = True
            if in_paper:
                continue
        else:
            in_paper = False
        kept.append(line)
    text = "\n".join(kept)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"^\s*#+\s*\d+(\.\d+)*\s*[·.]?", "", text, flags=re.M)  # section numbers
    text = re.sub(r"^\s*\d+\.\s", "", text, flags=re.M)  # numbered lists
    text = re.sub(r"\bnotebooks?\s+\d+(\s*(,|and|or|-|–)\s*\d+)*", " ", text)
    return text


def output_text(cell: dict) -> str:
    """Everything a code cell printed or displayed as text."""
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append("".join(out["text"]))
        for kind in ("text/plain", "text/html", "text/markdown"):
            if kind in out.get("data", {}):
                parts.append("".join(out["data"][kind]))
    return "\n".join(parts)


def _printed_values(outputs: str) -> list[float]:
    values = []
    for match in OUTPUT_NUMBER.finditer(outputs):
        try:
            values.append(float(match.group().replace(",", "")))
        except ValueError:
            continue
    return values


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _shown(number: str, suffix: str, printed: list[float]) -> bool:
    value = float(number.replace(",", ""))
    places = _decimals(number)
    candidates = [value]
    if suffix.strip() == "%":
        candidates.append(value / 100)
    tolerance = 0.5 * 10 ** -places + 1e-9
    for target in candidates:
        scale = 1 if target == value else 100
        for shown in printed:
            if abs(shown - target) <= tolerance / scale:
                return True
    return False


def _exempt(number: str, suffix: str) -> bool:
    if suffix or "." in number:
        return False
    value = int(number.replace(",", ""))
    return value <= SMALL_COUNT or value in FACTS or 1900 <= value <= 2100


def unprinted_numbers(notebook: str | Path | dict) -> list[Claim]:
    """Numbers in ``notebook``'s markdown cells that none of its outputs print."""
    nb = notebook if isinstance(notebook, dict) else json.loads(Path(notebook).read_text())
    printed = _printed_values("\n".join(output_text(c) for c in nb["cells"] if c["cell_type"] == "code"))
    claims = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        for line in _strip_exempt("".join(cell["source"])).splitlines():
            for match in NUMBER.finditer(line):
                number, suffix = match.group(1), match.group(2) or ""
                if not _exempt(number, suffix) and not _shown(number, suffix, printed):
                    claims.append(Claim(i, match.group(0), line))
    return claims
