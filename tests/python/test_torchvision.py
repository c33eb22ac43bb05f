"""Whole-model outputs of coinfer vs PyTorch for torchvision architectures
exported to ONNX (random seeded weights, non-trivial BatchNorm statistics)."""
import sys

import torch
import torchvision.models as tvm

from common import compare, randomize_bn, tmpdir

MODELS = [
    # name, constructor, input size, opset
    ("resnet18", lambda: tvm.resnet18(), 224, 11),
    ("resnet34", lambda: tvm.resnet34(), 224, 13),
    ("resnet50", lambda: tvm.resnet50(), 224, 17),
    ("mobilenet_v2", lambda: tvm.mobilenet_v2(), 224, 13),
    ("alexnet", lambda: tvm.alexnet(), 224, 13),
    ("vgg16", lambda: tvm.vgg16(), 224, 13),
    ("googlenet", lambda: tvm.googlenet(aux_logits=False, init_weights=True), 224, 13),
    ("squeezenet1_0", lambda: tvm.squeezenet1_0(), 224, 12),
    ("inception_v3", lambda: tvm.inception_v3(aux_logits=False, init_weights=True), 299, 13),
]


def main():
    only = sys.argv[2:]
    torch.manual_seed(0)
    torch.set_num_threads(2)
    failures = []
    with tmpdir() as tmp:
        for name, make, size, opset in MODELS:
            if only and name not in only:
                continue
            torch.manual_seed(1)
            model = randomize_bn(make().eval(), 2)
            x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(3))
            try:
                compare(name, model, x, tmp, opset=opset, threads=2)
            except AssertionError as e:
                print(e, flush=True)
                failures.append(name)
    if failures:
        sys.exit(f"mismatch vs PyTorch: {', '.join(failures)}")


if __name__ == "__main__":
    main()
