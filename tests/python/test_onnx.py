"""ONNX export (`digitnet export-onnx`, MLPClassifier.to_onnx): files that onnx.checker accepts
and that ONNX Runtime (npm's onnxruntime-node, CPU) runs to digitnet's probabilities within
1e-5 on the 10,000 Fashion-MNIST test images."""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

import digitnet
from digitnet import MLPClassifier

onnx = pytest.importorskip("onnx", reason="python3-onnx is missing (apt-get install python3-onnx)")
pytestmark = pytest.mark.slow  # ONNX Runtime in Node.js, on 10,000 images
RUNNER = os.path.join(os.path.dirname(__file__), "..", "data", "onnx")


@pytest.fixture(scope="module")
def runtime():
    """Runs a model in ONNX Runtime: (probabilities, labels) for float32 rows X."""
    node = shutil.which("node")
    if not node:
        pytest.skip("Node.js is missing (apt-get install nodejs npm): ONNX Runtime comes from npm")
    if not os.path.isdir(os.path.join(RUNNER, "node_modules", "onnxruntime-node")):
        pytest.skip("onnxruntime-node is not installed: run `npm ci --ignore-scripts` in tests/data/onnx "
                    "(scripts/test.sh does)")

    def run(model, X, tmp_path):
        X = np.ascontiguousarray(X, dtype=np.float32)
        X.tofile(tmp_path / "input.f32")
        r = subprocess.run([node, os.path.join(RUNNER, "run.mjs"), str(model), str(tmp_path / "input.f32"),
                            str(X.shape[1]), str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        info = json.loads(r.stdout)
        assert info["inputs"] == ["input"] and info["outputs"] == ["probabilities", "label"]
        p = np.fromfile(tmp_path / "out.probabilities.f32", np.float32).reshape(info["probabilities"])
        return p, np.fromfile(tmp_path / "out.label.i64", np.int64)
    return run


def check_file(path, ops):
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)  # with shape inference
    assert model.opset_import[0].version == digitnet.ONNX_OPSET == 13 and model.ir_version == 7
    assert [n.op_type for n in model.graph.node] == ops
    return {p.key: p.value for p in model.metadata_props}


def assert_agrees(ours, theirs, labels):
    assert theirs.shape == ours.shape
    print(f"largest difference from ONNX Runtime: {np.abs(theirs - ours).max():.2e} on {len(ours)} rows")
    assert np.abs(theirs - ours).max() <= 1e-5, np.abs(theirs - ours).max()
    top2 = np.sort(ours, axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-5  # not a near-tie
    np.testing.assert_array_equal(labels[clear], ours.argmax(axis=1)[clear])


def test_cli_export_runs_in_onnx_runtime(cli, runtime, fashion, tmp_path):
    cli("train", "--data", "fashion-mnist", "--layers", "784,64,32,10", "--epochs", 1, "--save", tmp_path / "m.npz")
    cli("export-onnx", tmp_path / "m.npz", "-o", tmp_path / "m.onnx")
    meta = check_file(tmp_path / "m.onnx", ["Mul", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax", "ArgMax"])
    assert json.loads(meta["classes"]) == list(range(10)) and meta["input_shape"] == "[28,28]"
    X = fashion.X_test  # 10,000 images: the graph takes pixel values 0..255
    theirs, labels = runtime(tmp_path / "m.onnx", X, tmp_path)
    assert_agrees(digitnet.load(tmp_path / "m.npz").predict_proba(X), theirs, labels)


def test_batch_norm_and_average_export_folded(cli, runtime, fashion, tmp_path):
    # batch normalization folds into the Gemm before it: the graph is a plain network's
    cli("train", "--data", "fashion-mnist", "--layers", "784,64,32,10", "--epochs", 1, "--batch-norm", "on",
        "--ema", 0.99, "--save", tmp_path / "bn.npz")
    assert "gamma1" in np.load(tmp_path / "bn.npz").files
    cli("export-onnx", tmp_path / "bn.npz", "-o", tmp_path / "bn.onnx")
    check_file(tmp_path / "bn.onnx", ["Mul", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax", "ArgMax"])
    X = fashion.X_test
    theirs, labels = runtime(tmp_path / "bn.onnx", X, tmp_path)
    assert_agrees(digitnet.load(tmp_path / "bn.npz").predict_proba(X), theirs, labels)


def test_python_export_zscore_tanh(runtime, fashion_small, tmp_path):
    X, y, X_test, _ = fashion_small
    clf = MLPClassifier(hidden_layer_sizes=(48, 24), activation="tanh", normalize="zscore", epochs=2,
                        learning_rate=0.05).fit(X, y)
    clf.to_onnx(tmp_path / "z.onnx")
    check_file(tmp_path / "z.onnx", ["Mul", "Sub", "Div", "Gemm", "Tanh", "Gemm", "Tanh", "Gemm", "Softmax", "ArgMax"])
    theirs, labels = runtime(tmp_path / "z.onnx", X_test, tmp_path)
    assert_agrees(clf.predict_proba(X_test), theirs, labels)


def test_python_export_sigmoid_mse(runtime, fashion_small, tmp_path):
    """The mse models end in Sigmoid, as digitnet's outputs do (predict_proba divides them by
    their sum; the graph gives the sigmoid outputs themselves)."""
    X, y, X_test, _ = fashion_small
    clf = MLPClassifier(preset="sigmoid-mse-20x3", epochs=1).fit(X, y)
    clf.to_onnx(tmp_path / "s.onnx")
    check_file(tmp_path / "s.onnx", ["Mul", "Gemm", "Sigmoid", "Gemm", "Sigmoid", "Gemm", "Sigmoid", "Gemm", "Sigmoid",
                                      "ArgMax"])
    theirs, labels = runtime(tmp_path / "s.onnx", X_test, tmp_path)
    assert_agrees(clf._learner.predict_proba(X_test), theirs, labels)
    np.testing.assert_allclose(theirs / theirs.sum(axis=1, keepdims=True), clf.predict_proba(X_test), atol=1e-5)


def test_python_export_float_inputs_and_string_labels(runtime, digits, tmp_path):
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = MLPClassifier(preset="best-digits", epochs=20).fit(digits.X_train, names[digits.y_train])
    clf.to_onnx(tmp_path / "d.onnx")
    # the digits' floats 0..16 are scaled by their largest, as the model records: a Mul by 1/16;
    # the preset's batch normalization is folded into the Gemms
    meta = check_file(tmp_path / "d.onnx", ["Mul", "Gemm", "Relu", "Gemm", "Relu", "Gemm", "Softmax", "ArgMax"])
    assert json.loads(meta["classes"]) == sorted(names) and meta["pixel_max"] == "16.0"
    theirs, labels = runtime(tmp_path / "d.onnx", digits.X_test, tmp_path)
    assert_agrees(clf.predict_proba(digits.X_test), theirs, labels)
    assert (clf.classes_[labels] == clf.predict(digits.X_test)).mean() > 0.99
