"""Exports a torchvision model to ONNX (for coinfer and ONNX Runtime) and times
PyTorch itself on it. Usage: torch_bench.py MODEL OUT.onnx THREADS RUNS [--export-only]"""
import json
import sys
import time

import torch
import torchvision.models as tvm

name, out, threads, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
torch.manual_seed(0)
model = getattr(tvm, name)().eval()
x = torch.randn(1, 3, 224, 224)
if "--export-only" in sys.argv:
    torch.onnx.export(model, x, out, opset_version=13, input_names=["input"], output_names=["output"])
    sys.exit(0)
torch.set_num_threads(threads)
with torch.no_grad():
    for _ in range(2):
        model(x)
    ms = []
    for _ in range(runs):
        t0 = time.perf_counter()
        model(x)
        ms.append((time.perf_counter() - t0) * 1e3)
ms.sort()
med = ms[len(ms) // 2] if len(ms) % 2 else 0.5 * (ms[len(ms) // 2 - 1] + ms[len(ms) // 2])
print(json.dumps({"engine": "pytorch", "version": torch.__version__, "threads": threads,
                  "runs": runs, "median_ms": med, "min_ms": ms[0]}))
