// ResNet-18/34 (BasicBlock) and ResNet-50 (Bottleneck, stride on the 3x3 conv
// as torchvision's v1.5) as torchvision.models.resnet*. Each BatchNorm is
// folded into the preceding conv's bias; the residual add carries the ReLU.
#include <fmt/format.h>

#include "zoo/models.h"

namespace coinfer::zoo {

using graph::Act;
using graph::Builder;

namespace {

// One residual unit named `p` (e.g. "layer2.0"); returns the add node, which
// is named `p` itself so that blocks found by find_blocks carry its name.
int basic_block(Builder& b, int x, int planes, int stride, const std::string& p) {
  int y = named(b, b.conv(x, planes, 3, stride, 1, Act::Relu), p + ".conv1");
  y = named(b, b.conv(y, planes, 3, 1, 1, Act::None), p + ".conv2");
  int identity = x;
  if (stride != 1 || b.shape(x).c != planes)
    identity = named(b, b.conv(x, planes, 1, stride, 0, Act::None), p + ".downsample.0");
  return named(b, b.add(y, identity, Act::Relu), p);
}

int bottleneck(Builder& b, int x, int planes, int stride, const std::string& p) {
  const int out_c = planes * 4;
  int y = named(b, b.conv(x, planes, 1, 1, 0, Act::Relu), p + ".conv1");
  y = named(b, b.conv(y, planes, 3, stride, 1, Act::Relu), p + ".conv2");
  y = named(b, b.conv(y, out_c, 1, 1, 0, Act::None), p + ".conv3");
  int identity = x;
  if (stride != 1 || b.shape(x).c != out_c)
    identity = named(b, b.conv(x, out_c, 1, stride, 0, Act::None), p + ".downsample.0");
  return named(b, b.add(y, identity, Act::Relu), p);
}

}  // namespace

Result<graph::Graph> build_resnet(int depth, uint64_t seed) {
  int units[4];
  bool use_bottleneck = false;
  switch (depth) {
    case 18:
      units[0] = 2, units[1] = 2, units[2] = 2, units[3] = 2;
      break;
    case 34:
      units[0] = 3, units[1] = 4, units[2] = 6, units[3] = 3;
      break;
    case 50:
      units[0] = 3, units[1] = 4, units[2] = 6, units[3] = 3;
      use_bottleneck = true;
      break;
    default:
      return errorf("zoo: resnet depth {}: must be 18, 34 or 50", depth);
  }
  Builder b(fmt::format("resnet{}", depth), Shape{3, 224, 224}, seed);
  int x = named(b, b.conv(b.input(), 64, 7, 2, 3, Act::Relu), "conv1");  // 112x112
  x = named(b, b.maxpool(x, 3, 2, 1), "maxpool");                        // 56x56
  for (int layer = 0; layer < 4; ++layer) {
    int planes = 64 << layer;
    for (int u = 0; u < units[layer]; ++u) {
      int stride = (layer > 0 && u == 0) ? 2 : 1;
      std::string p = fmt::format("layer{}.{}", layer + 1, u);
      x = use_bottleneck ? bottleneck(b, x, planes, stride, p)
                         : basic_block(b, x, planes, stride, p);
    }
  }
  x = named(b, b.global_avgpool(x), "avgpool");
  x = named(b, b.flatten(x), "flatten");
  x = named(b, b.dense(x, 1000, Act::None), "fc");
  return b.finish(x);
}

}  // namespace coinfer::zoo
