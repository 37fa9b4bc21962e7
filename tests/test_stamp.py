"""tools/stamp_setup.py: every chapter carries the one setup cell and no outputs."""

import copy
import importlib.util
import json

import yaml
from conftest import ROOT

spec = importlib.util.spec_from_file_location(
    "stamp_setup", ROOT / "tools" / "stamp_setup.py"
)
stamp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stamp)


def test_all_chapters_are_stamped():
    assert stamp.main(["--check"]) == 0


def test_setup_cell_installs_from_config_repository():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))[
        "repository"
    ]
    src = stamp.setup_source()
    assert f"git+{cfg['url']}@{cfg['branch']}" in src
    assert "KEXUE_INSTALL_SOURCE" in src and 'find_spec("kexue")' in src


def test_stamping_strips_outputs_and_is_idempotent():
    nb = json.loads(
        (ROOT / "chapters/diffusion/ddim.ipynb").read_text(encoding="utf-8")
    )
    dirty = copy.deepcopy(nb)
    dirty["metadata"]["widgets"] = {"state": {}}
    code = next(
        c
        for c in dirty["cells"]
        if c["cell_type"] == "code"
        and "kexue-setup" not in c["metadata"].get("tags", [])
    )
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    code["execution_count"] = 3
    dirty["cells"] = [
        c for c in dirty["cells"] if "kexue-setup" not in c["metadata"].get("tags", [])
    ]
    clean = stamp.stamped(dirty, "diffusion")
    assert stamp.dumps(clean) == stamp.dumps(stamp.stamped(clean, "diffusion"))
    assert stamp.dumps(clean) == stamp.dumps(stamp.stamped(nb, "diffusion"))
    setup = clean["cells"][1]
    assert setup["metadata"]["tags"] == ["remove-cell", "kexue-setup"]
    assert clean["metadata"]["accelerator"] == "GPU"
