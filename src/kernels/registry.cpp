#include <cmath>

#include "kernels/kernel.h"

namespace coinfer::kernels {

using graph::Act;
using graph::OpKind;

const char* backend_name(Backend b) {
  static const char* names[] = {"xnnpack", "reference", "onednn"};
  static_assert(sizeof(names) / sizeof(names[0]) == size_t(Backend::Count));
  return names[int(b)];
}

Result<Backend> parse_backend(const std::string& name) {
  std::string all;
  for (int i = 0; i < int(Backend::Count); ++i) {
    if (name == backend_name(Backend(i))) return Backend(i);
    all += (i ? " | " : "") + std::string(backend_name(Backend(i)));
  }
  return errorf("backend '{}': must be one of {}", name, all);
}

void apply_activation(const graph::Node& n, float* d, size_t count) {
  switch (n.act) {
    case Act::None:
    case Act::Count:
      return;
    case Act::Relu:
      for (size_t i = 0; i < count; ++i) d[i] = d[i] < 0.f ? 0.f : d[i];
      return;
    case Act::Clip:
      for (size_t i = 0; i < count; ++i) d[i] = std::fmin(std::fmax(d[i], n.act_min), n.act_max);
      return;
    case Act::LeakyRelu:
      for (size_t i = 0; i < count; ++i) d[i] = d[i] < 0.f ? d[i] * n.alpha : d[i];
      return;
    case Act::Sigmoid:
      for (size_t i = 0; i < count; ++i) d[i] = 1.f / (1.f + std::exp(-d[i]));
      return;
  }
}

Result<std::unique_ptr<Kernel>> make_kernel(const graph::Graph& g, int id, Backend backend) {
  const graph::Node& n = g.nodes[size_t(id)];
  switch (n.kind) {
    case OpKind::Conv:
      if (backend == Backend::Xnnpack) return make_conv_xnnpack(g, id);
      if (backend == Backend::OneDnn) return make_conv_onednn(g, id);
      return make_conv_reference(g, id);
    case OpKind::Dense:
      if (backend == Backend::Xnnpack) return make_dense_xnnpack(g, id);
      if (backend == Backend::OneDnn) return make_dense_onednn(g, id);
      return make_dense_reference(g, id);
    case OpKind::MaxPool:
    case OpKind::AvgPool:
      return make_pool_kernel(g, id);
    case OpKind::GlobalAvgPool:
      return make_global_pool_kernel(g, id);
    case OpKind::Add:
    case OpKind::Mul:
      return make_binary_kernel(g, id);
    case OpKind::Unary:
      return make_unary_kernel(g, id);
    case OpKind::Concat:
      return make_concat_kernel(g, id);
    case OpKind::Flatten:
    case OpKind::Unflatten:  // h = w = 1: the flatten copy is the identity
      return make_flatten_kernel(g, id);
    case OpKind::Softmax:
      return make_softmax_kernel(g, id);
    case OpKind::Pad:
      return make_pad_kernel(g, id);
    case OpKind::Resize:
      return make_resize_kernel(g, id);
    case OpKind::SpaceToDepth:
      return make_space_to_depth_kernel(g, id);
    case OpKind::Input:
    case OpKind::Count:
      break;
  }
  return errorf("{} '{}': no kernel for this op", graph::op_name(n.kind), n.name);
}

}  // namespace coinfer::kernels
