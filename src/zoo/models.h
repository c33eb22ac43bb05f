// Per-family model constructors behind zoo::build (internal to src/zoo).
#pragma once

#include <cstdint>
#include <string>

#include "graph/builder.h"

namespace coinfer::zoo {

Result<graph::Graph> build_vgg16(uint64_t seed);
Result<graph::Graph> build_resnet(int depth, uint64_t seed);  // 18, 34 or 50
Result<graph::Graph> build_mobilenet_v2(uint64_t seed);
Result<graph::Graph> build_alexnet(uint64_t seed);
Result<graph::Graph> build_googlenet(uint64_t seed);
Result<graph::Graph> build_squeezenet1_0(uint64_t seed);
Result<graph::Graph> build_yolov2(uint64_t seed);
Result<graph::Graph> build_yolov2_tiny(uint64_t seed);

// Names the node just built by `b` and returns its id:
//   x = named(b, b.conv(x, 64, 3, 1, 1), "features.0");
inline int named(graph::Builder& b, int id, const std::string& name) {
  b.name_last(name);
  return id;
}

}  // namespace coinfer::zoo
