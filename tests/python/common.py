"""Shared helpers for the PyTorch reference tests: run the coinfer binary on
an ONNX file exported from torch and compare with torch's own output."""
import os
import subprocess
import sys
import tempfile

import numpy as np


def coinfer_bin():
    if len(sys.argv) < 2:
        sys.exit("usage: test_*.py PATH/TO/coinfer")
    return sys.argv[1]


def run(args, expect_ok=True):
    p = subprocess.run([coinfer_bin()] + args, capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        raise AssertionError(f"coinfer {' '.join(args)} failed: {p.stderr.strip()}")
    return p


def compare(name, model, x, tmp, opset=13, tol=1e-3, threads=1):
    """Exports `model` to ONNX, runs it in coinfer and torch, returns the error
    relative to the output scale; raises if above `tol`."""
    import torch
    path = os.path.join(tmp, f"{name}.onnx")
    with torch.no_grad():
        torch.onnx.export(model, x, path, opset_version=opset, input_names=["input"],
                          output_names=["output"])
        ref = model(x).numpy()
    xin = os.path.join(tmp, f"{name}_in.npy")
    yout = os.path.join(tmp, f"{name}_out.npy")
    np.save(xin, x.numpy().astype(np.float32))
    run(["infer", path, "--input", xin, "--output", yout, "--threads", str(threads)])
    got = np.load(yout)
    if got.shape != ref.shape:
        raise AssertionError(f"{name}: shape {got.shape} vs torch {ref.shape}")
    scale = max(1e-6, float(np.abs(ref).max()))
    err = float(np.abs(got - ref).max()) / scale
    status = "ok" if err <= tol else "FAIL"
    print(f"{name:28s} opset {opset}: max abs err / scale = {err:.2e} (scale {scale:.3g}) {status}",
          flush=True)
    if err > tol:
        raise AssertionError(f"{name}: error {err} > {tol}")
    return err


def randomize_bn(model, seed):
    """Gives every BatchNorm non-trivial statistics so folding is exercised."""
    import torch
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return model


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="coinfer-test-")
