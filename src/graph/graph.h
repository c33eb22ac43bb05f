// Graph IR: a DAG of nodes in topological order, one output value per node,
// batch 1, activations NHWC f32. nodes[0] is the single graph input; `output`
// names the node whose value is the single graph output.
//
// Weight layouts: Conv weight is [O][KH][KW][I/groups] (OHWI, as XNNPACK
// packs it), Dense weight is [O][I]. Bias is [O] (empty = zero).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace coinfer::graph {

enum class OpKind : uint8_t {
  Input,
  Conv,           // 2-D convolution, groups, dilation, per-side padding
  MaxPool,        // window over H, W; padding counts as -inf
  AvgPool,        // window over H, W; count_include_pad selectable
  GlobalAvgPool,  // [1,C,H,W] -> [1,C,1,1]
  Dense,          // [1,I] -> [1,O] (Gemm / MatMul with constant weights)
  Add,            // elementwise; either operand may be [1,C,1,1] (broadcast)
  Mul,            // elementwise; either operand may be [1,C,1,1] (broadcast)
  Concat,         // along channels
  Flatten,        // [1,C,H,W] -> [1,C*H*W] in NCHW order (ONNX semantics)
  Softmax,        // over channels of a [1,C] value
  Pad,            // constant padding of H and W
  Resize,         // nearest-neighbour upsampling by an integer factor
  SpaceToDepth,   // blocksize b: [1,C,H,W] -> [1,C*b*b,H/b,W/b], ONNX channel order
                  // (Darknet's reorg has the same shape, another channel order)
  Unary,          // a standalone activation (see Act)
  Unflatten,      // [1,C] -> [1,C,1,1] (same memory; e.g. squeeze-excite scales)
  Count
};

// An activation: standalone (OpKind::Unary) or fused into Conv/Dense/Add.
enum class Act : uint8_t { None, Relu, Clip, LeakyRelu, Sigmoid, Count };

const char* op_name(OpKind k);
const char* act_name(Act a);

// Sliding-window geometry of Conv, MaxPool and AvgPool.
struct Window {
  int kh = 1, kw = 1;  // kernel
  int sh = 1, sw = 1;  // stride
  int dh = 1, dw = 1;  // dilation
  int pt = 0, pl = 0, pb = 0, pr = 0;  // padding: top, left, bottom, right
  bool ceil_mode = false;              // pools only
  bool count_include_pad = false;      // AvgPool only
};

struct Node {
  std::string name;
  OpKind kind = OpKind::Input;
  std::vector<int> inputs;  // node ids, all smaller than this node's id
  Shape out;                // filled by infer_shapes()

  Window win;       // Conv, MaxPool, AvgPool
  int groups = 1;   // Conv
  int factor = 1;   // Resize scale, SpaceToDepth blocksize
  int pads[4] = {0, 0, 0, 0};  // Pad: top, left, bottom, right
  float pad_value = 0.f;       // Pad

  Act act = Act::None;  // Unary: the op; Conv/Dense/Add: fused after the op
  float act_min = 0.f, act_max = 0.f;  // Clip bounds
  float alpha = 0.01f;                 // LeakyRelu slope

  std::vector<float> weight;  // Conv OHWI; Dense [O][I]; Add/Mul: constant
                              // operand ([C] or [1]) when inputs.size() == 1
  std::vector<float> bias;    // Conv/Dense [O]

  int out_channels() const { return out.c; }
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;  // topological order, nodes[0].kind == Input
  int output = 0;           // node id of the graph output
  std::string input_name = "input", output_name = "output";

  const Shape& input_shape() const { return nodes[0].out; }
  const Shape& output_shape() const { return nodes[size_t(output)].out; }
  int64_t params() const;
};

// Floating-point work and memory traffic of producing `rows` output rows of
// one node. FLOPs count a multiply-add as 2.
struct Cost {
  double flops = 0;
  double bytes = 0;         // activations read + written
  double weight_bytes = 0;  // parameters read
};

// --- The per-op shape function: geometry, cost and regions from one place. ---

// Checks a node's attributes and inputs and computes its output shape.
Result<Shape> infer_shape(const Graph& g, const Node& n);
// Runs infer_shape on every node in order and stores the result in Node::out.
Status infer_shapes(Graph& g);
Cost node_cost(const Graph& g, const Node& n, Rows out_rows);
// True if output rows [a,b) depend only on a bounded band of input rows.
bool row_local(const Node& n);
// Input rows needed (not clipped: may be < 0 or >= H where padding is read)
// to produce output rows `out` of `n`, for input `i`. For ops that are not
// row-local this is the whole input.
Rows input_rows(const Graph& g, const Node& n, int i, Rows out);

// --- Graph passes ---

// Folds standalone activations into their producer when it is a Conv, Dense
// or Add whose output has no other consumer.
void fuse_activations(Graph& g);
// Removes nodes the output does not depend on and renumbers.
void prune_dead(Graph& g);
// Consumers of every node.
std::vector<std::vector<int>> consumers(const Graph& g);

}  // namespace coinfer::graph
