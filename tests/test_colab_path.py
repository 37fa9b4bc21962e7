"""The Colab path.

1. What the setup cell's ``pip install`` would change on Colab (no network). A fresh
   virtual environment holds a fake copy of Colab's preinstalled packages (metadata
   only, at Colab's versions: ipywidgets 7.7.1, torch 2.8, numpy 2.0, ...), and a local
   "index" of wheels offers a newer release of each, as PyPI does. The setup cell's own
   install command runs in pip's dry-run/report mode against that index; the test reads
   pip's report and requires that none of Colab's packages (torch, numpy, sympy,
   ipywidgets, scipy, matplotlib, scikit-learn, tqdm) is upgraded or reinstalled. With
   ``ipywidgets>=8`` in ``pyproject.toml`` it fails: pip would upgrade 7.7.1 to 8.x,
   whose widgets Colab's front end does not render (googlecolab/colabtools #3020,
   #4525).
2. The install for real: a fresh environment that sees this machine's packages but not
   ``kexue`` runs a chapter's setup cell (install source pointed at this checkout, since
   CI cannot reach GitHub), then its first cells. The install must not add its own
   torch, numpy, sympy or ipywidgets.

The versions in ``COLAB`` are those of a recent Colab runtime as the authors last saw
it; they were not re-checked on a live runtime from here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile

from conftest import ROOT, toc_chapters

PROTECTED = ("torch", "numpy", "sympy", "ipywidgets")

# Colab's preinstalled versions of kexue's dependencies (all but torchdiffeq, which
# Colab lacks).
COLAB = {
    "torch": "2.8.0",
    "numpy": "2.0.2",
    "scipy": "1.16.1",
    "sympy": "1.13.3",
    "matplotlib": "3.10.0",
    "scikit-learn": "1.6.1",
    "tqdm": "4.67.1",
    "ipywidgets": "7.7.1",
}
# What the fake index offers: a newer release of each (pip must not take them), and
# torchdiffeq.
INDEX = {
    "torch": ("2.9.1", []),
    "numpy": ("2.3.5", []),
    "scipy": ("1.17.1", []),
    "sympy": ("1.14.0", []),
    "matplotlib": ("3.11.2", []),
    "scikit-learn": ("1.9.1", []),
    "tqdm": ("4.70.1", []),
    "ipywidgets": ("8.1.9", []),
    "torchdiffeq": ("0.2.5", ["torch>=1.5.0", "scipy>=1.4.0"]),
}


def _metadata(name: str, version: str, requires=()) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    return "\n".join(lines + [f"Requires-Dist: {r}" for r in requires]) + "\n"


def _fake_installed(site, name: str, version: str) -> None:
    """An installed distribution as pip sees it: a ``.dist-info`` folder (no code)."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(_metadata(name, version))
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text("")


def _fake_wheel(folder, name: str, version: str, requires) -> None:
    """A wheel with metadata only, for the local index."""
    stem = f"{name.replace('-', '_')}-{version}"
    with zipfile.ZipFile(folder / f"{stem}-py3-none-any.whl", "w") as z:
        z.writestr(f"{stem}.dist-info/METADATA", _metadata(name, version, requires))
        z.writestr(
            f"{stem}.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n",
        )
        z.writestr(f"{stem}.dist-info/RECORD", "")


def _checkout(tmp_path):
    """A copy of the library's sources (pip's build files stay out of the checkout)."""
    source = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "lib",
        source / "lib",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    return source


def _venv(tmp_path, name):
    venv = tmp_path / name
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return py, site


def _setup_cell() -> str:
    nb = json.loads(toc_chapters()[0].read_text(encoding="utf-8"))
    assert "kexue-setup" in json.dumps(nb["cells"][1]["metadata"])
    return "".join(nb["cells"][1]["source"])


def test_setup_cell_install_keeps_colabs_packages(tmp_path):
    py, site = _venv(tmp_path, "colab-dry")
    # The venv's bundled (old) setuptools would shadow the build backend linked below.
    subprocess.run(
        [str(py), "-m", "pip", "uninstall", "-q", "-y", "setuptools"],
        check=True,
        capture_output=True,
    )
    colab = tmp_path / "colab-site"
    colab.mkdir()
    for name, version in COLAB.items():
        _fake_installed(colab, name, version)
    # The build backend (pip needs it to read kexue's metadata without build isolation).
    here = sysconfig.get_paths()["purelib"]
    for entry in os.listdir(here):
        if entry.lower().startswith(("setuptools", "_distutils_hack")):
            os.symlink(os.path.join(here, entry), colab / entry)
    with open(os.path.join(site, "colab_preinstalled.pth"), "w") as f:
        f.write(str(colab) + "\n")
    index = tmp_path / "index"
    index.mkdir()
    for name, (version, requires) in INDEX.items():
        _fake_wheel(index, name, version, requires)

    # The cell's own install command, up to the import it guards.
    cell = _setup_cell()
    install = cell[: cell.index("\nimport kexue\n")]
    assert "pip" in install and "install" in install
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    env.update(
        KEXUE_INSTALL_SOURCE=str(_checkout(tmp_path)),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(index),
        PIP_DRY_RUN="1",
        PIP_REPORT=str(report),
        # pip reads this variable inverted: "0" disables build isolation
        PIP_NO_BUILD_ISOLATION="0",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    r = subprocess.run(
        [str(py), "-c", install],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    chosen = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    assert "kexue" in chosen and "torchdiffeq" in chosen, chosen
    replaced = {n: chosen[n] for n in chosen if n in COLAB}
    assert not replaced, (
        f"the setup cell would replace Colab's preinstalled {replaced} "
        f"(Colab has { ({n: COLAB[n] for n in replaced}) })"
    )


def _preinstalled_dir(tmp_path):
    """A directory exposing this environment's packages, minus kexue."""
    src = sysconfig.get_paths()["purelib"]
    dst = tmp_path / "preinstalled"
    dst.mkdir()
    for name in os.listdir(src):
        low = name.lower()
        if (
            low.startswith(("kexue", "__editable__", "_kexue"))
            or low in {"pip", "setuptools"}
            or low.startswith(("pip-", "setuptools-"))
        ):
            continue
        os.symlink(os.path.join(src, name), dst / name)
    return dst


def test_setup_cell_installs_kexue_and_first_cells_run(tmp_path):
    py, own_site = _venv(tmp_path, "colab")
    with open(os.path.join(own_site, "colab_preinstalled.pth"), "w") as f:
        f.write(str(_preinstalled_dir(tmp_path)) + "\n")
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run(
        [
            str(py),
            "-c",
            "import importlib.util as u; print(u.find_spec('kexue') is None)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=clean_env,
    )
    assert probe.stdout.strip() == "True", (
        "the fresh environment must not see kexue before the setup cell"
    )

    nb = json.loads(toc_chapters()[0].read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0] == _setup_cell()
    # the setup cell, the imports, and the first two cells of the argument
    script = "\n\n".join(code[:4])
    source = _checkout(tmp_path)
    env = {**clean_env, "KEXUE_INSTALL_SOURCE": str(source), "MPLBACKEND": "Agg"}
    r = subprocess.run(
        [str(py), "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=900,
    )
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    assert "kexue: device=" in r.stdout

    installed = {n.lower() for n in os.listdir(own_site)}
    for pkg in PROTECTED:
        assert not any(n == pkg or n.startswith(pkg + "-") for n in installed), (
            f"the setup cell installed its own {pkg} (Colab's must stay): "
            f"{sorted(installed)}"
        )
    where = subprocess.run(
        [
            str(py),
            "-c",
            "import kexue, torch; print(kexue.__file__); print(torch.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout.split()
    assert where[0].startswith(own_site) and not where[1].startswith(own_site)
