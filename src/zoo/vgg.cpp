// VGG-16 as torchvision.models.vgg16. AdaptiveAvgPool2d(7) is the identity at
// 224x224 and is omitted; Dropout is omitted.
#include <fmt/format.h>

#include "zoo/models.h"

namespace coinfer::zoo {

using graph::Act;
using graph::Builder;

Result<graph::Graph> build_vgg16(uint64_t seed) {
  Builder b("vgg16", Shape{3, 224, 224}, seed);
  // torchvision cfg "D": channels per conv, 0 = maxpool 2x2 s2.
  const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
  int x = b.input();
  int idx = 0;  // index in torchvision's `features` Sequential
  for (int c : cfg) {
    if (c == 0) {
      x = named(b, b.maxpool(x, 2, 2), fmt::format("features.{}", idx));
      idx += 1;
    } else {
      x = named(b, b.conv(x, c, 3, 1, 1, Act::Relu), fmt::format("features.{}", idx));
      idx += 2;  // Conv2d, ReLU
    }
  }
  x = named(b, b.flatten(x), "flatten");
  x = named(b, b.dense(x, 4096, Act::Relu), "classifier.0");
  x = named(b, b.dense(x, 4096, Act::Relu), "classifier.3");
  x = named(b, b.dense(x, 1000, Act::None), "classifier.6");
  return b.finish(x);
}

}  // namespace coinfer::zoo
