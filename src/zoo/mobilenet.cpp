// MobileNetV2 (width 1.0) as torchvision.models.mobilenet_v2. ReLU6 is a
// fused Act::Clip (the Builder sets [0, 6]); depthwise convs are convs with
// groups = channels; BatchNorm is folded into conv biases; Dropout omitted.
#include <fmt/format.h>

#include "zoo/models.h"

namespace coinfer::zoo {

using graph::Act;
using graph::Builder;

namespace {

// InvertedResidual named `p` ("features.3"): optional 1x1 expansion, 3x3
// depthwise, linear 1x1 projection, and a residual add (named `p`) when the
// shape is unchanged.
int inverted_residual(Builder& b, int x, int out_c, int stride, int expand, const std::string& p) {
  int in_c = b.shape(x).c;
  int hidden = in_c * expand;
  // torchvision's `conv` Sequential: [expand,] depthwise, project, BatchNorm.
  const bool has_expand = expand != 1;
  int y = x;
  if (has_expand) y = named(b, b.conv(y, hidden, 1, 1, 0, Act::Clip), p + ".conv.0.0");
  std::string dw = p + (has_expand ? ".conv.1.0" : ".conv.0.0");
  std::string project = p + (has_expand ? ".conv.2" : ".conv.1");
  y = named(b, b.conv(y, hidden, 3, stride, 1, Act::Clip, hidden), dw);
  y = named(b, b.conv(y, out_c, 1, 1, 0, Act::None), project);
  if (stride == 1 && in_c == out_c) y = named(b, b.add(x, y), p);
  return y;
}

}  // namespace

Result<graph::Graph> build_mobilenet_v2(uint64_t seed) {
  Builder b("mobilenet_v2", Shape{3, 224, 224}, seed);
  // torchvision inverted_residual_setting: expansion t, channels c, repeats n, stride s.
  struct Stage {
    int t, c, n, s;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int x = named(b, b.conv(b.input(), 32, 3, 2, 1, Act::Clip), "features.0.0");  // 112x112
  int idx = 1;
  for (const Stage& st : stages)
    for (int i = 0; i < st.n; ++i, ++idx)
      x = inverted_residual(b, x, st.c, i == 0 ? st.s : 1, st.t, fmt::format("features.{}", idx));
  x = named(b, b.conv(x, 1280, 1, 1, 0, Act::Clip), fmt::format("features.{}.0", idx));  // 7x7
  x = named(b, b.global_avgpool(x), "avgpool");
  x = named(b, b.flatten(x), "flatten");
  x = named(b, b.dense(x, 1000, Act::None), "classifier.1");
  return b.finish(x);
}

}  // namespace coinfer::zoo
