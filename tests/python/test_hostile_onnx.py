"""Hostile ONNX models (docs/SECURITY.md, "A longer run and what was found"):
valid protobuf, hostile values. Each must be refused at import with exit code
1 and one line naming the node (or tensor) and the rule, never a crash, a
hang or a huge allocation. Usage: test_hostile_onnx.py PATH/TO/coinfer"""
import os
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from common import run, tmpdir


def i64(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def f32(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def lying_tensor(name, dims, data=b""):
    t = TensorProto()
    t.name, t.data_type = name, TensorProto.FLOAT
    t.dims.extend(dims)
    t.raw_data = data
    return t


W = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
N = helper.make_node
BIG = 2**40
# name: (nodes, initializers, input shape, what the error must say)
CASES = {
    "conv_stride0": ([N("Conv", ["x", "w"], ["y"], strides=[0, 0])], [W], None,
                     "strides[0]=0: must be in [1, 65536]"),
    "conv_group0": ([N("Conv", ["x", "w"], ["y"], group=0)], [W], None, "group=0: must be in"),
    "conv_pads": ([N("Conv", ["x", "w"], ["y"], pads=[2**31 - 1] * 4)], [W], None,
                  "pads[0]=2147483647: must be in [0, 65536]"),
    "conv_dilation": ([N("Conv", ["x", "w"], ["y"], dilations=[2**30, 2**30])], [W], None,
                      "dilations[0]=1073741824"),
    "pool_kernel": ([N("MaxPool", ["x"], ["y"], kernel_shape=[2**31 - 1] * 2)], [], None,
                    "kernel_shape[0]=2147483647"),
    "pad_2p40": ([N("Pad", ["x", "p"], ["y"])], [i64("p", [0, 0, BIG, BIG, 0, 0, BIG, BIG])],
                 None, "pads[2]=1099511627776"),
    "pad_43GB": ([N("Pad", ["x", "p"], ["y"])],
                 [i64("p", [0, 0, 30000, 30000, 0, 0, 30000, 30000])], None,
                 "output [1,3,60004,60004] has 10801440048 elements: more than 2^31"),
    "resize_1e6": ([N("Resize", ["x", "", "s"], ["y"], mode="nearest")],
                   [f32("s", [1, 1, 1e6, 1e6])], None, "integer s in [1, 64]"),
    "resize_nan": ([N("Resize", ["x", "", "s"], ["y"], mode="nearest")],
                   [f32("s", [1, 1, np.nan, -1])], None, "integer s in [1, 64]"),
    "reshape_two_minus1": ([N("Reshape", ["x", "s"], ["y"])], [i64("s", [-1, -1])], None,
                           "more than one -1"),
    "gather_2p40": ([N("Shape", ["x"], ["s"]), N("Gather", ["s", "i"], ["g"]),
                     N("Reshape", ["x", "g"], ["y"])], [i64("i", [BIG])], None,
                    "index 1099511627776: out of range"),
    "concat_axis": ([N("Concat", ["x", "x"], ["y"], axis=BIG)], [], None, "out of range for rank"),
    "softmax_axis": ([N("Softmax", ["x"], ["y"], axis=-BIG)], [], None, "out of range for rank"),
    "space_to_depth_0": ([N("SpaceToDepth", ["x"], ["y"], blocksize=0)], [], None,
                         "blocksize=0: must be in [1, 64]"),
    "constant_of_shape": ([N("ConstantOfShape", ["shp"], ["c"]), N("Add", ["x", "c"], ["y"])],
                          [i64("shp", [1, 3, 100000, 100000])], None, "too large to fold"),
    "dims_lie": ([N("Add", ["x", "w"], ["y"])],
                 [lying_tensor("w", [10**9], np.zeros(1, np.float32).tobytes())], None,
                 "raw_data has 4 bytes: needs 4000000000"),
    "dims_2p62": ([N("Add", ["x", "w"], ["y"])], [lying_tensor("w", [2**31, 2**31, -4])], None,
                  "more than 2^31 elements"),
    "input_1e12": ([N("Relu", ["x"], ["y"])], [], [1, 3, 10**6, 10**6], "elements: too large"),
}


def build(path, nodes, inits, shape):
    g = helper.make_graph(nodes, "hostile",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                         shape or [1, 3, 4, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def main():
    failed = []
    with tmpdir() as t:
        for name, (nodes, inits, shape, needle) in CASES.items():
            path = os.path.join(t, name + ".onnx")
            build(path, nodes, inits, shape)
            p = run(["inspect", path], expect_ok=False)
            err = p.stderr.strip()
            ok = p.returncode == 1 and len(err.splitlines()) == 1 and needle in err
            print(f"{'ok  ' if ok else 'FAIL'} {name:20s} rc={p.returncode}: {err}", flush=True)
            if not ok:
                failed.append(name)
    if failed:
        sys.exit(f"{len(failed)} hostile models not refused as expected: {', '.join(failed)}")


if __name__ == "__main__":
    main()
