#include "graph/builder.h"

#include <cmath>

namespace coinfer::graph {

Builder::Builder(std::string name, Shape input, uint64_t seed) : rng_(seed) {
  g_.name = std::move(name);
  Node in;
  in.name = "input";
  in.kind = OpKind::Input;
  in.out = input;
  g_.nodes.push_back(std::move(in));
}

int Builder::push(Node n) {
  if (n.name.empty()) n.name = fmt::format("{}_{}", op_name(n.kind), ++counter_);
  g_.nodes.push_back(std::move(n));
  Node& added = g_.nodes.back();
  Result<Shape> s = first_error_.ok() ? infer_shape(g_, added) : Result<Shape>(first_error_);
  if (s.ok()) {
    added.out = *s;
  } else if (first_error_.ok()) {
    first_error_ = s.status();
  }
  return int(g_.nodes.size()) - 1;
}

// He-uniform weights: keeps activations O(1) through deep ReLU stacks. A fast
// splitmix-style generator keeps the 138M VGG-16 weights under a second.
std::vector<float> Builder::random_weights(size_t n, int fan_in) {
  std::vector<float> w(n);
  float a = std::sqrt(6.0f / float(fan_in > 0 ? fan_in : 1));
  uint64_t s = rng_();
  for (float& v : w) {
    s += 0x9E3779B97F4A7C15ull;
    uint64_t z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    v = a * (float(z >> 40) * (2.0f / 16777216.0f) - 1.0f);
  }
  return w;
}

int Builder::conv(int x, int out_c, int k, int s, int p, Act act, int groups, int dilation) {
  Window w;
  w.kh = w.kw = k;
  w.sh = w.sw = s;
  w.dh = w.dw = dilation;
  w.pt = w.pl = w.pb = w.pr = p;
  return conv_w(x, out_c, w, act, groups);
}

int Builder::conv_w(int x, int out_c, const Window& w, Act act, int groups) {
  Node n;
  n.kind = OpKind::Conv;
  n.inputs = {x};
  n.win = w;
  n.groups = groups;
  n.act = act;
  if (act == Act::Clip) n.act_max = 6.f;
  int in_c = shape(x).c / (groups > 0 ? groups : 1);
  int fan_in = w.kh * w.kw * in_c;
  n.weight = random_weights(size_t(out_c) * size_t(fan_in), fan_in);
  n.bias = random_weights(size_t(out_c), fan_in * 16);
  return push(std::move(n));
}

int Builder::maxpool(int x, int k, int s, int p, bool ceil_mode) {
  Window w;
  w.kh = w.kw = k;
  w.sh = w.sw = s;
  w.pt = w.pl = w.pb = w.pr = p;
  w.ceil_mode = ceil_mode;
  return maxpool_w(x, w);
}

int Builder::maxpool_w(int x, const Window& w) {
  Node n;
  n.kind = OpKind::MaxPool;
  n.inputs = {x};
  n.win = w;
  return push(std::move(n));
}

int Builder::avgpool(int x, int k, int s, int p, bool ceil_mode, bool count_include_pad) {
  Node n;
  n.kind = OpKind::AvgPool;
  n.inputs = {x};
  n.win.kh = n.win.kw = k;
  n.win.sh = n.win.sw = s;
  n.win.pt = n.win.pl = n.win.pb = n.win.pr = p;
  n.win.ceil_mode = ceil_mode;
  n.win.count_include_pad = count_include_pad;
  return push(std::move(n));
}

int Builder::global_avgpool(int x) {
  Node n;
  n.kind = OpKind::GlobalAvgPool;
  n.inputs = {x};
  return push(std::move(n));
}

int Builder::dense(int x, int out_features, Act act) {
  Node n;
  n.kind = OpKind::Dense;
  n.inputs = {x};
  n.act = act;
  int in_f = shape(x).c * shape(x).h * shape(x).w;
  n.weight = random_weights(size_t(out_features) * size_t(in_f), in_f);
  n.bias = random_weights(size_t(out_features), in_f * 16);
  return push(std::move(n));
}

int Builder::flatten(int x) {
  Node n;
  n.kind = OpKind::Flatten;
  n.inputs = {x};
  return push(std::move(n));
}

int Builder::add(int a, int b, Act act) {
  Node n;
  n.kind = OpKind::Add;
  n.inputs = {a, b};
  n.act = act;
  return push(std::move(n));
}

int Builder::mul(int a, int b) {
  Node n;
  n.kind = OpKind::Mul;
  n.inputs = {a, b};
  return push(std::move(n));
}

int Builder::concat(const std::vector<int>& xs) {
  Node n;
  n.kind = OpKind::Concat;
  n.inputs = xs;
  return push(std::move(n));
}

int Builder::activation(int x, Act act, float alpha) {
  Node n;
  n.kind = OpKind::Unary;
  n.inputs = {x};
  n.act = act;
  n.alpha = alpha;
  return push(std::move(n));
}

int Builder::clip(int x, float lo, float hi) {
  Node n;
  n.kind = OpKind::Unary;
  n.inputs = {x};
  n.act = Act::Clip;
  n.act_min = lo;
  n.act_max = hi;
  return push(std::move(n));
}

int Builder::softmax(int x) {
  Node n;
  n.kind = OpKind::Softmax;
  n.inputs = {x};
  return push(std::move(n));
}

int Builder::resize(int x, int factor) {
  Node n;
  n.kind = OpKind::Resize;
  n.inputs = {x};
  n.factor = factor;
  return push(std::move(n));
}

int Builder::space_to_depth(int x, int block) {
  Node n;
  n.kind = OpKind::SpaceToDepth;
  n.inputs = {x};
  n.factor = block;
  return push(std::move(n));
}

int Builder::pad(int x, int top, int left, int bottom, int right, float value) {
  Node n;
  n.kind = OpKind::Pad;
  n.inputs = {x};
  n.pads[0] = top;
  n.pads[1] = left;
  n.pads[2] = bottom;
  n.pads[3] = right;
  n.pad_value = value;
  return push(std::move(n));
}

Result<Graph> Builder::finish(int output) {
  RETURN_IF_ERROR(first_error_);
  g_.output = output;
  prune_dead(g_);
  fuse_activations(g_);
  RETURN_IF_ERROR(infer_shapes(g_));
  return std::move(g_);
}

}  // namespace coinfer::graph
