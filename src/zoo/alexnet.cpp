// AlexNet as torchvision.models.alexnet. AdaptiveAvgPool2d(6) is the identity
// at 224x224 (the features end at 6x6) and is omitted; Dropout is omitted.
#include "zoo/models.h"

namespace coinfer::zoo {

using graph::Act;
using graph::Builder;

Result<graph::Graph> build_alexnet(uint64_t seed) {
  Builder b("alexnet", Shape{3, 224, 224}, seed);
  int x = b.input();
  x = named(b, b.conv(x, 64, 11, 4, 2, Act::Relu), "features.0");  // 55x55
  x = named(b, b.maxpool(x, 3, 2), "features.2");                  // 27x27
  x = named(b, b.conv(x, 192, 5, 1, 2, Act::Relu), "features.3");
  x = named(b, b.maxpool(x, 3, 2), "features.5");  // 13x13
  x = named(b, b.conv(x, 384, 3, 1, 1, Act::Relu), "features.6");
  x = named(b, b.conv(x, 256, 3, 1, 1, Act::Relu), "features.8");
  x = named(b, b.conv(x, 256, 3, 1, 1, Act::Relu), "features.10");
  x = named(b, b.maxpool(x, 3, 2), "features.12");  // 6x6
  x = named(b, b.flatten(x), "flatten");
  x = named(b, b.dense(x, 4096, Act::Relu), "classifier.1");
  x = named(b, b.dense(x, 4096, Act::Relu), "classifier.4");
  x = named(b, b.dense(x, 1000, Act::None), "classifier.6");
  return b.finish(x);
}

}  // namespace coinfer::zoo
