// Shared XNNPACK plumbing: one-time initialisation and fused clamps.
#pragma once

#include <limits>
#include <utility>

#include "core/status.h"
#include "graph/graph.h"

namespace coinfer::kernels {

// Initialises XNNPACK once per process.
Status xnnpack_init();

// True if XNNPACK's output clamp computes the activation exactly.
inline bool xnn_fusable(graph::Act a) {
  return a == graph::Act::None || a == graph::Act::Relu || a == graph::Act::Clip;
}

// Output clamp [lo, hi] for a node's fused activation.
inline std::pair<float, float> xnn_clamp(const graph::Node& n) {
  constexpr float inf = std::numeric_limits<float>::infinity();
  if (n.act == graph::Act::Relu) return {0.f, inf};
  if (n.act == graph::Act::Clip) return {n.act_min, n.act_max};
  return {-inf, inf};
}

}  // namespace coinfer::kernels
