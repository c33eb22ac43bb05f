// Builder: assembles a Graph layer by layer with seeded random weights (used by
// the model zoo and by tests). Methods return the new node's id.
//
//   Builder b("tiny", Shape{3, 32, 32}, /*seed=*/1);
//   int x = b.conv(b.input(), 16, 3, 1, 1);        // 3x3, stride 1, pad 1, ReLU
//   x = b.maxpool(x, 2, 2);
//   Result<Graph> g = b.finish(b.dense(b.flatten(x), 10, Act::None));
#pragma once

#include <random>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace coinfer::graph {

class Builder {
 public:
  Builder(std::string name, Shape input, uint64_t seed);

  int input() const { return 0; }
  // Square kernel k, stride s, symmetric padding p; fused activation `act`.
  int conv(int x, int out_c, int k, int s, int p, Act act = Act::Relu, int groups = 1,
           int dilation = 1);
  // Full control of the window (asymmetric kernels, strides and pads).
  int conv_w(int x, int out_c, const Window& w, Act act, int groups = 1);
  int maxpool(int x, int k, int s, int p = 0, bool ceil_mode = false);
  int maxpool_w(int x, const Window& w);
  int avgpool(int x, int k, int s, int p = 0, bool ceil_mode = false,
              bool count_include_pad = true);
  int global_avgpool(int x);
  int dense(int x, int out_features, Act act = Act::Relu);
  int flatten(int x);
  int add(int a, int b, Act act = Act::None);
  int mul(int a, int b);
  int concat(const std::vector<int>& xs);
  int activation(int x, Act act, float alpha = 0.1f);
  int clip(int x, float lo, float hi);
  int softmax(int x);
  int resize(int x, int factor);
  int space_to_depth(int x, int block);
  int pad(int x, int top, int left, int bottom, int right, float value = 0.f);

  // Renames the most recently added node (e.g. "layer3.0.conv1"); names are
  // otherwise "<Op>_<counter>".
  void name_last(const std::string& name) { g_.nodes.back().name = name; }

  // Infers shapes; the first error (a bad layer) is reported here.
  Result<Graph> finish(int output);

  // Channels / shape of a node built so far (shapes are inferred eagerly).
  const Shape& shape(int x) const { return g_.nodes[size_t(x)].out; }

 private:
  int push(Node n);
  std::vector<float> random_weights(size_t n, int fan_in);

  Graph g_;
  std::mt19937_64 rng_;
  Status first_error_;
  int counter_ = 0;
};

}  // namespace coinfer::graph
