// YOLOv2 and YOLOv2-tiny as Darknet's cfg/yolov2.cfg and cfg/yolov2-tiny.cfg
// at 416x416 with 80 classes: the output is the raw region tensor
// [1, 5 * (5 + 80) = 425, 13, 13] (decoding anchors is left to the caller).
// Nodes are named after Darknet layer indices ("conv16", "max17", "route28").
// BatchNorm is folded into conv biases; "leaky" is LeakyRelu(0.1), built as a
// Unary node that fuse_activations folds into the conv.
#include <fmt/format.h>

#include "zoo/models.h"

namespace coinfer::zoo {

using graph::Act;
using graph::Builder;
using graph::Window;

namespace {

constexpr int kOutChannels = 5 * (5 + 80);  // anchors x (box, objectness, classes)

// [convolutional] batch_normalize=1 size=k pad=1 activation=leaky; layer `i`.
int dark_conv(Builder& b, int x, int out_c, int k, int i) {
  x = named(b, b.conv(x, out_c, k, 1, k / 2, Act::None), fmt::format("conv{}", i));
  return named(b, b.activation(x, Act::LeakyRelu, 0.1f), fmt::format("conv{}.leaky", i));
}

// [maxpool] size=2 stride=2 (even input sizes: no padding needed).
int dark_maxpool(Builder& b, int x, int i) {
  return named(b, b.maxpool(x, 2, 2), fmt::format("max{}", i));
}

// The final [convolutional] size=1 filters=425 activation=linear (with bias).
int region_conv(Builder& b, int x, int i) {
  return named(b, b.conv(x, kOutChannels, 1, 1, 0, Act::None), fmt::format("conv{}", i));
}

}  // namespace

Result<graph::Graph> build_yolov2(uint64_t seed) {
  Builder b("yolov2", Shape{3, 416, 416}, seed);
  // Layers 0..24: filters and kernel per conv, filters 0 = maxpool 2 s2.
  struct Layer {
    int filters, k;
  };
  const Layer backbone[] = {
      {32, 3},   {0, 0},   {64, 3},   {0, 0},   {128, 3},  {64, 1},   {128, 3}, {0, 0},   {256, 3},
      {128, 1},  {256, 3}, {0, 0},    {512, 3}, {256, 1},  {512, 3},  {256, 1}, {512, 3}, {0, 0},
      {1024, 3}, {512, 1}, {1024, 3}, {512, 1}, {1024, 3}, {1024, 3}, {1024, 3}};
  static_assert(sizeof(backbone) / sizeof(backbone[0]) == 25);
  int x = b.input();
  int layer16 = -1;  // 26x26x512, the passthrough source
  for (int i = 0; i < 25; ++i) {
    const Layer& l = backbone[i];
    x = l.filters == 0 ? dark_maxpool(b, x, i) : dark_conv(b, x, l.filters, l.k, i);
    if (i == 16) layer16 = x;
  }
  // 25: [route] layers=-9 (layer 16); 26: 1x1 conv 64; 27: [reorg] stride=2
  // -> 13x13x256; 28: [route] layers=-1,-4 = concat(reorg, layer 24). Darknet's
  // reorg orders channels differently from SpaceToDepth; the shape is the same.
  int pass = dark_conv(b, layer16, 64, 1, 26);
  pass = named(b, b.space_to_depth(pass, 2), "reorg27");
  x = named(b, b.concat({pass, x}), "route28");
  x = dark_conv(b, x, 1024, 3, 29);
  x = region_conv(b, x, 30);
  return b.finish(x);
}

Result<graph::Graph> build_yolov2_tiny(uint64_t seed) {
  Builder b("yolov2_tiny", Shape{3, 416, 416}, seed);
  int x = b.input();
  int i = 0;  // Darknet layer index
  for (int filters : {16, 32, 64, 128, 256}) {
    x = dark_conv(b, x, filters, 3, i++);
    x = dark_maxpool(b, x, i++);
  }
  x = dark_conv(b, x, 512, 3, i++);  // 13x13
  // [maxpool] size=2 stride=1: Darknet pads one row/column at the bottom/right
  // so 13x13 stays 13x13.
  Window w;
  w.kh = w.kw = 2;
  w.pb = w.pr = 1;
  x = named(b, b.maxpool_w(x, w), fmt::format("max{}", i++));
  x = dark_conv(b, x, 1024, 3, i++);
  x = dark_conv(b, x, 512, 3, i++);
  x = region_conv(b, x, i);
  return b.finish(x);
}

}  // namespace coinfer::zoo
