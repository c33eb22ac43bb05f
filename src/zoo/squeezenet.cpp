// SqueezeNet 1.0 as torchvision.models.squeezenet1_0 at 224x224: maxpools
// use ceil_mode=True; the classifier is a 1x1 conv to 1000 classes + ReLU and
// a global average pool (AdaptiveAvgPool2d(1)); Dropout omitted.
#include <fmt/format.h>

#include "zoo/models.h"

namespace coinfer::zoo {

using graph::Act;
using graph::Builder;

namespace {

// Fire module `features.<idx>`: 1x1 squeeze, then 1x1 and 3x3 expands
// concatenated along channels (the concat carries the module's name).
int fire(Builder& b, int x, int idx, int squeeze, int expand1x1, int expand3x3) {
  const std::string p = fmt::format("features.{}", idx);
  int s = named(b, b.conv(x, squeeze, 1, 1, 0, Act::Relu), p + ".squeeze");
  int e1 = named(b, b.conv(s, expand1x1, 1, 1, 0, Act::Relu), p + ".expand1x1");
  int e3 = named(b, b.conv(s, expand3x3, 3, 1, 1, Act::Relu), p + ".expand3x3");
  return named(b, b.concat({e1, e3}), p);
}

}  // namespace

Result<graph::Graph> build_squeezenet1_0(uint64_t seed) {
  Builder b("squeezenet1_0", Shape{3, 224, 224}, seed);
  int x = named(b, b.conv(b.input(), 96, 7, 2, 0, Act::Relu), "features.0");  // 109x109
  x = named(b, b.maxpool(x, 3, 2, 0, true), "features.2");                    // 54x54
  x = fire(b, x, 3, 16, 64, 64);
  x = fire(b, x, 4, 16, 64, 64);
  x = fire(b, x, 5, 32, 128, 128);
  x = named(b, b.maxpool(x, 3, 2, 0, true), "features.6");  // 27x27
  x = fire(b, x, 7, 32, 128, 128);
  x = fire(b, x, 8, 48, 192, 192);
  x = fire(b, x, 9, 48, 192, 192);
  x = fire(b, x, 10, 64, 256, 256);
  x = named(b, b.maxpool(x, 3, 2, 0, true), "features.11");  // 13x13
  x = fire(b, x, 12, 64, 256, 256);
  x = named(b, b.conv(x, 1000, 1, 1, 0, Act::Relu), "classifier.1");
  x = named(b, b.global_avgpool(x), "classifier.3");
  x = named(b, b.flatten(x), "flatten");
  return b.finish(x);
}

}  // namespace coinfer::zoo
