"""The Python API of DESIGN.md section 6 and the README example, as a user would run them."""

import random
import re
from pathlib import Path

import numpy as np

import cgnas


def test_readme_python_example_runs():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    namespace: dict = {}
    exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["same"].same_as(namespace["cg"])


def test_design_contract(tmp_path):
    space = cgnas.space("nb201")
    arch = space.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|")
    cg = space.to_cg(arch)
    net = cg.to_torch()
    same = cgnas.from_torch(net, (1, 3, 32, 32))
    path = cgnas.export_onnx(net, (1, 3, 32, 32), tmp_path / "m.onnx")
    other = cgnas.from_onnx(path)
    assert same.same_as(cg) and other.same_as(cg)
    rng = random.Random(0)
    for name in cgnas.space_names():
        sp = cgnas.space(name)
        a = sp.sample(rng)
        assert sp.parse(sp.format(a)) == a
        b = sp.mutate(a, rng)
        assert sp.key(b) != sp.key(a)
    pred = cgnas.Predictor()
    scores = pred.predict([cg, same])
    assert isinstance(scores, np.ndarray) and scores.shape == (2,) and np.isclose(scores[0], scores[1])
    pred.save(tmp_path / "p.pt")
    assert np.allclose(cgnas.Predictor.load(tmp_path / "p.pt").predict([cg]), scores[:1])
