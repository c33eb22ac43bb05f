// GoogLeNet (Inception v1) as torchvision.models.googlenet with
// aux_logits=False and transform_input=False. BasicConv2d (conv + folded BN +
// ReLU) is one conv with a fused ReLU; every maxpool uses ceil_mode=True; the
// "5x5" branch uses a 3x3 conv as torchvision does; Dropout omitted.
#include "zoo/models.h"

namespace coinfer::zoo {

using graph::Act;
using graph::Builder;

namespace {

struct InceptionCfg {
  const char* name;
  int ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj;
};

// BasicConv2d named `name`: conv with folded BN and ReLU.
int basic_conv(Builder& b, int x, int out_c, int k, int s, int p, const std::string& name) {
  return named(b, b.conv(x, out_c, k, s, p, Act::Relu), name);
}

// One Inception module; the channel concat is named after the module, so the
// block find_blocks cuts around it carries the module's name.
int inception(Builder& b, int x, const InceptionCfg& c) {
  const std::string p = c.name;
  int br1 = basic_conv(b, x, c.ch1x1, 1, 1, 0, p + ".branch1");
  int br2 = basic_conv(b, x, c.ch3x3red, 1, 1, 0, p + ".branch2.0");
  br2 = basic_conv(b, br2, c.ch3x3, 3, 1, 1, p + ".branch2.1");
  int br3 = basic_conv(b, x, c.ch5x5red, 1, 1, 0, p + ".branch3.0");
  br3 = basic_conv(b, br3, c.ch5x5, 3, 1, 1, p + ".branch3.1");
  int br4 = named(b, b.maxpool(x, 3, 1, 1, /*ceil_mode=*/true), p + ".branch4.0");
  br4 = basic_conv(b, br4, c.pool_proj, 1, 1, 0, p + ".branch4.1");
  return named(b, b.concat({br1, br2, br3, br4}), p);
}

}  // namespace

Result<graph::Graph> build_googlenet(uint64_t seed) {
  Builder b("googlenet", Shape{3, 224, 224}, seed);
  int x = basic_conv(b, b.input(), 64, 7, 2, 3, "conv1");  // 112x112
  x = named(b, b.maxpool(x, 3, 2, 0, true), "maxpool1");   // 56x56
  x = basic_conv(b, x, 64, 1, 1, 0, "conv2");
  x = basic_conv(b, x, 192, 3, 1, 1, "conv3");
  x = named(b, b.maxpool(x, 3, 2, 0, true), "maxpool2");  // 28x28
  x = inception(b, x, {"inception3a", 64, 96, 128, 16, 32, 32});
  x = inception(b, x, {"inception3b", 128, 128, 192, 32, 96, 64});
  x = named(b, b.maxpool(x, 3, 2, 0, true), "maxpool3");  // 14x14
  x = inception(b, x, {"inception4a", 192, 96, 208, 16, 48, 64});
  x = inception(b, x, {"inception4b", 160, 112, 224, 24, 64, 64});
  x = inception(b, x, {"inception4c", 128, 128, 256, 24, 64, 64});
  x = inception(b, x, {"inception4d", 112, 144, 288, 32, 64, 64});
  x = inception(b, x, {"inception4e", 256, 160, 320, 32, 128, 128});
  x = named(b, b.maxpool(x, 2, 2, 0, true), "maxpool4");  // 7x7
  x = inception(b, x, {"inception5a", 256, 160, 320, 32, 128, 128});
  x = inception(b, x, {"inception5b", 384, 192, 384, 48, 128, 128});
  x = named(b, b.global_avgpool(x), "avgpool");
  x = named(b, b.flatten(x), "flatten");
  x = named(b, b.dense(x, 1000, Act::None), "fc");
  return b.finish(x);
}

}  // namespace coinfer::zoo
