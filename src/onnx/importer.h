// ONNX import and export.
//
// Import: a ModelProto as torch.onnx.export writes it (opset 7-20; tested for
// 11-17 and the older Upsample) becomes a graph::Graph with static shapes,
// batch 1. Weights are converted to the IR layouts (Conv OIHW -> OHWI, Gemm /
// MatMul -> Dense [O][I]); BatchNormalization is folded into a preceding
// single-consumer Conv, or else becomes a per-channel Mul + Add; shape
// computations on static shapes (Shape -> Gather -> Unsqueeze -> Concat ->
// Reshape) are constant-folded. The result has been through prune_dead,
// fuse_activations and infer_shapes. Every error is one line:
//   "onnx 'm.onnx': node 'Conv_3' (Conv): attribute strides has 3 values: needs 2"
//
// Export: opset 13, ir_version 7; weights back to ONNX layouts, fused
// activations as separate nodes. The graph must have inferred shapes.
//
//   Result<graph::Graph> g = onnx_io::load_onnx("resnet18.onnx");
//   if (!g.ok()) { fmt::print("{}\n", g.error()); return 1; }
//   Status st = onnx_io::save_onnx(*g, "copy.onnx");
#pragma once

#include <string>

#include "core/status.h"
#include "graph/graph.h"

namespace coinfer::onnx_io {

// Reads and converts the file at `path`; the graph is named after its stem.
Result<graph::Graph> load_onnx(const std::string& path);
// Converts a serialized ModelProto. `what` names the model in messages (a
// path); the graph is named after its stem.
Result<graph::Graph> parse_onnx(const std::string& bytes, const std::string& what);

// Writes `g` as an ONNX model.
Status save_onnx(const graph::Graph& g, const std::string& path);
// The serialized ModelProto of `g`, or an empty string if `g` cannot be
// expressed (save_onnx reports why).
std::string to_onnx_bytes(const graph::Graph& g);

}  // namespace coinfer::onnx_io
