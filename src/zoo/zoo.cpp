#include "zoo/zoo.h"

#include <functional>

#include "zoo/models.h"

namespace coinfer::zoo {
namespace {

struct Model {
  ZooEntry entry;
  std::function<Result<graph::Graph>(uint64_t)> build;
};

const std::vector<Model>& models() {
  static const std::vector<Model> m = {
      {{"vgg16", "VGG-16, 224x224, torchvision layout"}, build_vgg16},
      {{"resnet18", "ResNet-18 (BasicBlock), 224x224, torchvision layout, BN folded"},
       [](uint64_t s) { return build_resnet(18, s); }},
      {{"resnet34", "ResNet-34 (BasicBlock), 224x224, torchvision layout, BN folded"},
       [](uint64_t s) { return build_resnet(34, s); }},
      {{"resnet50", "ResNet-50 (Bottleneck, v1.5), 224x224, torchvision layout, BN folded"},
       [](uint64_t s) { return build_resnet(50, s); }},
      {{"mobilenet_v2", "MobileNetV2 1.0, 224x224, torchvision layout, BN folded, ReLU6"},
       build_mobilenet_v2},
      {{"alexnet", "AlexNet, 224x224, torchvision layout"}, build_alexnet},
      {{"googlenet",
        "GoogLeNet (Inception v1, no aux heads), 224x224, torchvision layout, BN folded"},
       build_googlenet},
      {{"squeezenet1_0", "SqueezeNet 1.0, 224x224, torchvision layout"}, build_squeezenet1_0},
      {{"yolov2", "YOLOv2 (Darknet yolov2.cfg), 416x416, 80 classes, BN folded, raw [1,425,13,13]"},
       build_yolov2},
      {{"yolov2_tiny", "YOLOv2-tiny (Darknet yolov2-tiny.cfg), 416x416, 80 classes, BN folded"},
       build_yolov2_tiny},
  };
  return m;
}

}  // namespace

const std::vector<ZooEntry>& list() {
  static const std::vector<ZooEntry> entries = [] {
    std::vector<ZooEntry> e;
    for (const Model& m : models()) e.push_back(m.entry);
    return e;
  }();
  return entries;
}

Result<graph::Graph> build(const std::string& name, uint64_t seed) {
  std::string known;
  for (const Model& m : models()) {
    if (m.entry.name == name) return m.build(seed);
    known += (known.empty() ? "" : ", ") + m.entry.name;
  }
  return errorf("zoo: unknown model '{}': known models are {}", name, known);
}

}  // namespace coinfer::zoo
