"""Every number in a notebook's prose is one its own outputs print (see notebook_claims)."""

import copy
import json
from pathlib import Path

import pytest

from notebook_claims import NUMBER, _strip_exempt, unprinted_numbers

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def _notebook(markdown: str, printed: str) -> dict:
    return {"cells": [{"cell_type": "markdown", "source": [markdown]},
                      {"cell_type": "code", "source": [], "outputs": [{"output_type": "stream", "text": [printed]}]}]}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_prose_numbers_are_printed(path: Path) -> None:
    claims = unprinted_numbers(path)
    assert not claims, f"{path.name}: numbers in the prose that no output prints:\n" + "\n".join(map(str, claims))


def test_a_changed_number_is_caught() -> None:
    assert unprinted_numbers(_notebook("Accuracy reaches 0.83 here.", "accuracy 0.8312")) == []
    claims = unprinted_numbers(_notebook("Accuracy reaches 0.93 here.", "accuracy 0.8312"))
    assert [c.text for c in claims] == ["0.93"]


def test_percentages_and_thousands_match_printed_values() -> None:
    assert unprinted_numbers(_notebook("About 83 % of them, 1,600 galaxies.", "share 0.831\n1600 training")) == []
    assert unprinted_numbers(_notebook("About 93 % of them.", "share 0.831")) != []


def test_paper_quotes_code_and_small_counts_are_exempt() -> None:
    markdown = ("> **Paper** (§5): 0.97 accuracy.\n> still the paper: 250,000 galaxies\n\n"
                "Run `--epochs 37` on 3 GPUs, notebook 04.\n**Runtime** (2-core CPU): tiny ~41 s\n")
    assert unprinted_numbers(_notebook(markdown, "")) == []
    assert [c.text for c in unprinted_numbers(_notebook(markdown + "Then 0.97 here.", ""))] == ["0.97"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_mutating_a_printed_number_in_a_real_notebook_fails(path: Path) -> None:
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "markdown":
            continue
        prose = _strip_exempt("".join(cell["source"]))
        decimals = [m.group(1) for m in NUMBER.finditer(prose) if "." in m.group(1)]
        if decimals:
            mutated = copy.deepcopy(nb)
            index = nb["cells"].index(cell)
            mutated["cells"][index]["source"] = ["".join(cell["source"]).replace(decimals[0], "987.654")]
            assert any(c.text.startswith("987.654") for c in unprinted_numbers(mutated))
            return
    pytest.skip(f"{path.name} states no decimal number in its prose")
