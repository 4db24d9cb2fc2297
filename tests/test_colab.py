"""Colab: one repository URL everywhere, and an install cell that adds only what Colab lacks.

Every notebook's first code cell installs galzoo when it runs on Colab. The cell is the same
text in every notebook; it names ``galzoo_tools.REPOSITORY_URL``, as do the notebooks' "Open in
Colab" badges and README's Colab links. :func:`test_the_install_cell_runs_on_a_fake_colab` runs it
the way Colab would (``google.colab`` importable, galzoo not installed) against a local clone
(``GALZOO_INSTALL_FROM``), with every pip call turned into an offline ``--dry-run`` whose report
says what pip would install: the package and nothing of Colab's own, never torch.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from galzoo_tools import REPOSITORY_URL

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
OWNER_REPO = REPOSITORY_URL.removeprefix("https://github.com/")
COLAB_BADGE = "https://colab.research.google.com/github/{}/blob/main/notebooks/{}"

COLAB_HAS = {"torch", "torchvision", "numpy", "scipy", "pandas", "pyarrow", "scikit-learn", "matplotlib",
             "ipywidgets", "tqdm", "pillow"}
"""Dependencies every Colab runtime already has (the cell must leave them alone)."""
NOT_FOR_COLAB = {"jupyterlab"}
"""Dependencies Colab does not need: it is the notebook server."""


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def install_cells() -> dict[str, str]:
    """Each notebook's install cell: its first code cell, which must begin with '# Colab only'."""
    cells = {}
    for path in NOTEBOOKS:
        code = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
        assert code and _source(code[0]).startswith("# Colab only"), f"{path.name}: the first code cell must install"
        cells[path.name] = _source(code[0])
    return cells


def install_cell() -> str:
    cells = install_cells()
    texts = set(cells.values())
    assert len(texts) == 1, f"the install cells differ between notebooks: {sorted(cells)}; make them the same"
    return texts.pop()


def _constant(cell: str, name: str) -> object:
    for node in ast.parse(cell).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise AssertionError(f"the install cell has no {name} = ...")


def _requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower()


def test_every_notebook_and_the_readme_name_one_repository():
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", REPOSITORY_URL)
    assert _constant(install_cell(), "REPOSITORY_URL") == REPOSITORY_URL
    for path in NOTEBOOKS:
        first = _source(json.loads(path.read_text(encoding="utf-8"))["cells"][0])
        assert f"({COLAB_BADGE.format(OWNER_REPO, path.name)})" in first, f"{path.name}: its Colab badge"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    colab = readme[readme.index("## Colab"):readme.index("\n## ", readme.index("## Colab") + 1)]
    for path in NOTEBOOKS:
        assert f"({COLAB_BADGE.format(OWNER_REPO, path.name)})" in colab, f"README's Colab section: {path.name}"
    assert f"({REPOSITORY_URL})" in colab


def test_no_other_repository_url_anywhere():
    """Any GitHub address of a galzoo repository, in code, notebooks or docs, is REPOSITORY_URL's."""
    files = [ROOT / "README.md", ROOT / "pyproject.toml", *ROOT.glob("environment*.yml"), *NOTEBOOKS,
             *(ROOT / "galzoo_tools").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py"),
             *(ROOT / "data").rglob("*.md"), *(ROOT / "galzoo_tools").rglob("*.md")]
    pattern = re.compile(r"github(?:\.com|usercontent\.com)?/([\w.-]*galzoo[\w.-]*)/([\w-]+(?:\.[\w-]+)*)",
                         re.IGNORECASE)
    seen = 0
    for path in files:
        for owner, repo in pattern.findall(path.read_text(encoding="utf-8", errors="replace")):
            assert f"{owner}/{repo.removesuffix('.git')}" == OWNER_REPO, f"{path.relative_to(ROOT)}: {owner}/{repo}"
            seen += 1
    assert seen >= 2 * len(NOTEBOOKS)


def test_the_install_cell_asks_only_for_what_colab_lacks():
    cell = install_cell()
    lacks = _constant(cell, "COLAB_LACKS")
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    by_name = {_requirement_name(d): d.replace(" ", "") for d in dependencies}
    for requirement in lacks:
        name = _requirement_name(requirement)
        assert name in by_name and requirement == by_name[name], f"{requirement}: not as in pyproject.toml"
        assert name not in COLAB_HAS | NOT_FOR_COLAB
    unplaced = set(by_name) - COLAB_HAS - NOT_FOR_COLAB - {_requirement_name(r) for r in lacks}
    assert not unplaced, f"new dependencies {sorted(unplaced)}: add them to COLAB_LACKS in every install cell, or " \
                         f"to COLAB_HAS in {__file__} if Colab has them"
    assert '"--no-deps", "-e", "galzoo"' in cell  # the package alone: its dependencies are the ones above


def test_the_install_cell_does_nothing_off_colab(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"the install cell ran {args} off Colab")

    monkeypatch.setattr(subprocess, "run", refuse)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    namespace: dict = {}
    exec(compile(install_cell(), "install cell", "exec"), namespace)  # noqa: S102 - our own notebook cell
    assert namespace["IN_COLAB"] is False


DRIVER = textwrap.dedent('''
    """Run the install cell as on Colab: google.colab importable, galzoo_tools not installed; pip dry-runs."""
    import importlib.util
    import json
    import subprocess
    import sys
    import types

    # Colab: google.colab can be imported
    google = types.ModuleType("google")
    google.colab = types.ModuleType("google.colab")
    sys.modules["google"], sys.modules["google.colab"] = google, google.colab
    # ... and galzoo is not installed: hide this environment's editable install of it
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in str(getattr(f, "__module__", "")).lower()]
    sys.path[:] = [p for p in sys.path if "__editable__" not in p]
    assert importlib.util.find_spec("galzoo_tools") is None, "could not hide the installed galzoo_tools"

    calls, reports, real_run = [], [], subprocess.run

    def run(command, *args, **kwargs):
        command = [str(c) for c in command]
        calls.append(command)
        if command[1:4] == ["-m", "pip", "install"]:  # offline, installing nothing, reporting what it would
            report = f"pip_report_{len(reports)}.json"
            reports.append(report)
            command = [*command, "--dry-run", "--no-index", "--no-build-isolation", "--report", report]
        return real_run(command, *args, **kwargs)

    subprocess.run = run
    cell = open(sys.argv[1], encoding="utf-8").read()
    exec(compile(cell, "install cell", "exec"), {"__name__": "__main__"})
    import galzoo_tools  # from the clone: the cell put it on sys.path

    installs = [[(i["metadata"]["name"], i["metadata"]["version"]) for i in json.load(open(r))["install"]]
                for r in reports]
    print(json.dumps({"calls": calls, "installs": installs, "galzoo_tools": galzoo_tools.__file__}))
''')


def _setuptools_builds_editables() -> bool:
    try:
        return int(metadata.version("setuptools").split(".")[0]) >= 64
    except metadata.PackageNotFoundError:
        return False


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs git and a clone")
@pytest.mark.skipif(not _setuptools_builds_editables(), reason="an offline editable build needs setuptools>=64 here")
def test_the_install_cell_runs_on_a_fake_colab(tmp_path):
    (tmp_path / "cell.py").write_text(install_cell(), encoding="utf-8")
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")}
    env.update(GALZOO_INSTALL_FROM=str(ROOT), PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    done = subprocess.run([sys.executable, "driver.py", "cell.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    clone, *pips = result["calls"]
    assert clone[:2] == ["git", "clone"] and str(ROOT) in clone and clone[-1] == "galzoo"
    assert (tmp_path / "galzoo" / "galzoo_tools" / "__init__.py").is_file()
    assert Path(result["galzoo_tools"]).resolve().is_relative_to((tmp_path / "galzoo").resolve())

    assert len(pips) == 2 and all(c[1:4] == ["-m", "pip", "install"] for c in pips)
    dependencies, package = pips
    # Colab's torch and torchvision are pinned at the versions installed, so pip cannot replace them
    for name in ("torch", "torchvision"):
        assert f"{name}=={metadata.version(name)}" in dependencies
    untouchable = NOT_FOR_COLAB | (COLAB_HAS - {"torch", "torchvision"})  # Colab's own, or not wanted there
    assert not any(_requirement_name(a) in untouchable for a in dependencies[4:]), dependencies
    assert "--no-deps" in package and package[-2:] == ["-e", "galzoo"]
    would_install = [name.lower() for install in result["installs"] for name, _ in install]
    assert "galzoo-tools" in would_install
    assert not {n for n in would_install if n.startswith(("torch", "nvidia-", "jupyter"))}, would_install
