"""int8 predictions from Python: predict_proba(X, quantize="int8") is what `digitnet eval
--quantize int8` computes, and close to float32's."""
import json

import numpy as np
import pytest

import digitnet


def test_int8_predictions_match_the_cli(cli, tmp_path):
    model = tmp_path / "m.npz"
    cli("train", "--data", "digits", "--preset", "digits-relu-32", "--epochs", 200, "--save", model, "--json")
    clf = digitnet.load(model)
    test = digitnet.datasets.load("digits", split="random:0.2", seed=42)
    p8 = clf.predict_proba(test.X_test, quantize="int8")
    p32 = clf.predict_proba(test.X_test)
    assert p8.dtype == np.float32 and p8.shape == p32.shape
    assert np.abs(p8 - p32).max() < 0.05
    evaluation = json.loads(cli("eval", model, "--data", "digits", "--json", "--quantize", "int8"))
    predicted = clf.predict(test.X_test, quantize="int8")
    assert np.mean(predicted == test.y_test) == pytest.approx(evaluation["accuracy"], abs=1e-12)
    with pytest.raises(ValueError, match="quantize"):
        clf.predict_proba(test.X_test, quantize="int4")
