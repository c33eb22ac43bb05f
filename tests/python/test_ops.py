"""Single ops and awkward geometry vs PyTorch, exported at several opsets:
asymmetric F.pad, dilation, groups, ceil_mode pools, count_include_pad,
LeakyReLU, Sigmoid, ReLU6 (Clip), nearest upsampling, squeeze-excite Mul,
Softmax, MatMul, Dropout."""
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

from common import compare, randomize_bn, tmpdir


class Mixed(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 5, stride=2, padding=(1, 2), dilation=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 16, 3, padding=2, dilation=2, groups=4)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.c3 = nn.Conv2d(32, 8, 3, stride=2)
        self.fc1 = nn.Linear(16, 4)
        self.fc2 = nn.Linear(4, 16)
        self.head = nn.Linear(40 * 5 * 6, 10)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        x = F.relu(self.bn1(self.c1(x)))
        x = F.leaky_relu(self.c2(x), 0.1)
        x = F.relu6(self.bn2(self.dw(x)))
        se = torch.sigmoid(self.fc2(F.relu(self.fc1(F.adaptive_avg_pool2d(x, 1).flatten(1)))))
        x = x * se.view(1, 16, 1, 1)
        a = F.max_pool2d(x, 3, 2, 1, ceil_mode=True)
        b = F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
        x = torch.cat([a, b], 1)
        y = F.pad(x, (0, 1, 1, 0))
        y = self.c3(F.interpolate(y, scale_factor=2, mode="nearest"))
        x = torch.cat([F.avg_pool2d(x, 2, 2), F.max_pool2d(y, 2, 2, ceil_mode=True)], 1)
        x = self.drop(x.flatten(1))
        return F.softmax(self.head(x), dim=1)


class Tail(nn.Module):
    """MatMul with a constant, ReLU as Clip(0, None), Sigmoid at the end."""
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(3 * 8 * 8, 12) * 0.1)
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        x = torch.clamp(self.conv(x), min=0.0)
        return torch.sigmoid(x.flatten(1) @ self.w)


def main():
    torch.manual_seed(0)
    failures = []
    with tmpdir() as tmp:
        cases = []
        for opset in (11, 13, 17):
            m = randomize_bn(Mixed().eval(), 5)
            cases.append((f"mixed", m, torch.randn(1, 3, 37, 45), opset))
        cases.append(("tail", Tail().eval(), torch.randn(1, 3, 8, 8), 13))
        for name, m, x, opset in cases:
            try:
                compare(f"{name}_opset{opset}", m, x, tmp, opset=opset, tol=1e-4)
            except Exception as e:  # noqa: BLE001 - report every case
                print(e, flush=True)
                failures.append(f"{name}@{opset}")
    if failures:
        sys.exit(f"mismatch vs PyTorch: {', '.join(failures)}")


if __name__ == "__main__":
    main()
