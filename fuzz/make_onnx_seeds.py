#!/usr/bin/env python3
"""Writes tiny ONNX models (a few hundred bytes to a few KB) into DIR: seeds
for fuzz_onnx that reach the importer's converters (Conv, BatchNorm, pools,
Gemm, Add, Concat, Resize, Pad, Clip, the Shape->Gather->Reshape folding).
Usage: make_onnx_seeds.py DIR   (needs python3-onnx and numpy)."""
import os
import sys

import numpy as np
from onnx import TensorProto, checker, helper, numpy_helper

rng = np.random.default_rng(7)


def init(name, *shape):
    return numpy_helper.from_array(rng.uniform(-1, 1, shape).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def model(name, nodes, inits, in_shape, out_name, out_shape):
    g = helper.make_graph(nodes, name,
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                          [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, out_shape)],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="seed")
    checker.check_model(m)
    return m


def conv_classifier():
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], strides=[1, 1]),
        helper.make_node("BatchNormalization", ["c", "s", "o", "m", "v"], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1),
    ]
    inits = [init("w", 4, 3, 3, 3), init("b", 4), init("s", 4), init("o", 4), init("m", 4),
             numpy_helper.from_array(np.full(4, 0.5, np.float32), "v"), init("fw", 5, 64),
             init("fb", 5)]
    return model("conv_classifier", nodes, inits, [1, 3, 8, 8], "y", [1, 5])


def residual_concat():
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["a", "x"], ["s"]),
        helper.make_node("Conv", ["s", "w2"], ["d"], kernel_shape=[1, 1], group=1),
        helper.make_node("Concat", ["s", "d"], ["cat"], axis=1),
        helper.make_node("Clip", ["cat", "lo", "hi"], ["cl"]),
        helper.make_node("Resize", ["cl", "", "scales"], ["up"], mode="nearest"),
        helper.make_node("GlobalAveragePool", ["up"], ["y"]),
    ]
    inits = [init("w1", 2, 2, 3, 3), init("w2", 3, 2, 1, 1),
             numpy_helper.from_array(np.array(0, np.float32), "lo"),
             numpy_helper.from_array(np.array(6, np.float32), "hi"),
             numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")]
    return model("residual_concat", nodes, inits, [1, 2, 6, 6], "y", [1, 5, 1, 1])


def shape_folding():
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], mode="constant"),
        helper.make_node("AveragePool", ["p"], ["a"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Sigmoid", ["a"], ["sg"]),
        helper.make_node("Mul", ["a", "sg"], ["sw"]),
        helper.make_node("Shape", ["sw"], ["shp"]),
        helper.make_node("Gather", ["shp", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["newshape"], axis=0),
        helper.make_node("Reshape", ["sw", "newshape"], ["y"]),
    ]
    inits = [ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), ints("zero", 0), ints("axes", [0]),
             ints("minus1", [-1])]
    return model("shape_folding", nodes, inits, [1, 2, 4, 4], "y", [1, 18])


if __name__ == "__main__":
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for build in (conv_classifier, residual_concat, shape_folding):
        m = build()
        with open(os.path.join(out, build.__name__ + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())
