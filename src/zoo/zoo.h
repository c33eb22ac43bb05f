// Model zoo: reference CNN architectures built in code with seeded random
// weights. Shapes and parameter counts match the references exactly
// (torchvision definitions in eval mode with BatchNorm folded into a conv
// bias, Dropout omitted; Darknet cfgs for YOLO). Classifiers take
// [1,3,224,224] and return [1,1000] logits; YOLO takes [1,3,416,416] and
// returns the raw [1,425,13,13] region tensor (5 anchors x (5 + 80 classes)).
//
//   Result<graph::Graph> g = zoo::build("resnet50", /*seed=*/7);
//
// Nodes carry the torchvision module names ("layer3.0.conv1",
// "inception4a.branch2.1", "features.3") so plans and errors are readable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace coinfer::zoo {

struct ZooEntry {
  std::string name;         // key for build(), e.g. "vgg16"
  std::string description;  // e.g. "VGG-16, 224x224, torchvision layout"
};

// All models, in a fixed order.
const std::vector<ZooEntry>& list();

// Builds model `name` with weights drawn from `seed` (same seed, same weights).
// An unknown name is an error that lists the known names.
Result<graph::Graph> build(const std::string& name, uint64_t seed = 42);

}  // namespace coinfer::zoo
