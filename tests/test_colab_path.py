"""The Colab path: a fresh environment that has Colab's kind of preinstalled packages but not `kexue` runs a
chapter's setup cell (install source pointed at this checkout, since CI cannot reach GitHub), then its first cells.
The install must not add, upgrade or pin torch, numpy, sympy or ipywidgets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig

from conftest import ROOT, toc_chapters

PROTECTED = ("torch", "numpy", "sympy", "ipywidgets")


def _preinstalled_dir(tmp_path):
    """A directory exposing this environment's packages, minus kexue (like Colab's preinstalled set)."""
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
    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    own_site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
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
    assert "kexue-setup" in json.dumps(nb["cells"][1]["metadata"])
    script = "\n\n".join(
        code[:4]
    )  # the setup cell, the imports, and the first two cells of the argument
    source = (
        tmp_path / "checkout"
    )  # a copy, so that pip's build files stay out of the repository
    shutil.copytree(
        ROOT / "lib",
        source / "lib",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
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
            f"the setup cell installed its own {pkg} (Colab's must stay): {sorted(installed)}"
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
