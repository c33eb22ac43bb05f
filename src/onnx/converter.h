// Internal to the ONNX importer: the conversion state that op converters
// (ops_*.cpp) read inputs and attributes from and add IR nodes to.
//
// Every ONNX value name is bound to either a runtime value (an IR node id) or
// a constant (an initializer, a Constant node's value, or a folded shape
// computation). Constants are decoded from their TensorProto on use (and
// kept decoded only when several nodes read them).
#pragma once

#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes onnx/onnx-ml.pb.h

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "graph/graph.h"

namespace coinfer::onnx_io::detail {

// A constant tensor: float32 data in `f`, or integer data (int64/int32) in `i`.
struct Const {
  std::vector<int64_t> dims;  // ONNX order; empty = scalar
  bool is_int = false;
  std::vector<float> f;
  std::vector<int64_t> i;

  size_t size() const { return is_int ? i.size() : f.size(); }
};
using ConstPtr = std::shared_ptr<const Const>;

// "[1,3,224,224]"
std::string dims_str(const std::vector<int64_t>& dims);
// ONNX dims of an IR value: [1,C,H,W] or [1,F].
std::vector<int64_t> onnx_dims(const Shape& s);

class Converter {
 public:
  Converter(const onnx::ModelProto& model, std::string what);
  Result<graph::Graph> run();

  // --- For op converters: the node being converted. ---
  const onnx::NodeProto& node() const { return *node_; }
  int opset() const { return opset_; }
  // An error prefixed with the model and node: "onnx 'm.onnx': node 'n' (Op): ..."
  template <typename... A>
  Status fail(fmt::format_string<A...> f, A&&... args) const {
    return Status::error(prefix() + fmt::format(f, std::forward<A>(args)...));
  }

  // Inputs. `k` counts all inputs including empty (omitted) ones.
  bool has_input(int k) const;
  bool input_is_const(int k);
  Result<int> runtime_input(int k);     // IR node id; error if constant or missing
  Result<ConstPtr> const_input(int k);  // error if runtime or missing
  Result<ConstPtr> float_input(int k, const char* role);  // a float32 constant
  const Shape& shape_of(int id) const { return graph_.nodes[size_t(id)].out; }
  graph::Node& ir_node(int id) { return graph_.nodes[size_t(id)]; }

  // Attributes; a present attribute of the wrong type is an error.
  bool has_attr(const char* name) const;
  Result<int64_t> attr_int(const char* name, int64_t dflt) const;
  Result<float> attr_float(const char* name, float dflt) const;
  Result<std::string> attr_string(const char* name, const std::string& dflt) const;
  Result<std::vector<int64_t>> attr_ints(const char* name) const;  // empty if absent
  Result<std::vector<float>> attr_floats(const char* name) const;
  const onnx::AttributeProto* attr(const char* name) const;
  // Checks `v` (from attribute or input `what`) lies in [lo, hi].
  Result<int> small_int(int64_t v, const std::string& what, int lo, int hi) const;

  // Outputs. add_node names the node after this ONNX node (plus `suffix`),
  // infers its shape and returns its id.
  Result<int> add_node(graph::Node n, const std::string& suffix = "");
  void bind_output(int k, int id);  // output k is the runtime value of node `id`
  void bind_const(int k, ConstPtr c);
  Status alias_output(int k, int input_k);  // output k is input k (Identity)
  // How many node inputs and graph outputs read the value `name`.
  int uses(const std::string& name) const;
  // How many value names are bound to node `id` (aliases included).
  int names_bound(int id) const { return names_per_node_[size_t(id)]; }

  Result<ConstPtr> decode(const onnx::TensorProto& t, const std::string& name) const;

 private:
  std::string prefix() const;
  Status read_input(const onnx::ValueInfoProto& in);
  Status convert_node(const onnx::NodeProto& n);
  void bind(const std::string& name, int id);

  const onnx::ModelProto& model_;
  std::string what_;
  int opset_ = 0;
  graph::Graph graph_;
  const onnx::NodeProto* node_ = nullptr;
  std::string node_name_;
  std::unordered_map<std::string, int> runtime_;
  std::unordered_map<std::string, ConstPtr> consts_;
  std::unordered_map<std::string, const onnx::TensorProto*> undecoded_;
  std::unordered_map<std::string, int> uses_;
  std::unordered_map<std::string, int> ir_names_;  // IR node names in use
  std::vector<int> names_per_node_;
};

// Op converters: read node(), add IR nodes or constants, bind output 0.
using OpConverter = Status (*)(Converter&);
// ops_nn.cpp
Status convert_conv(Converter& c);
Status convert_batch_norm(Converter& c);
Status convert_max_pool(Converter& c);
Status convert_avg_pool(Converter& c);
Status convert_global_avg_pool(Converter& c);
Status convert_gemm(Converter& c);
Status convert_matmul(Converter& c);
// ops_tensor.cpp
Status convert_activation(Converter& c);  // Relu, Sigmoid, LeakyRelu, Clip
Status convert_binary(Converter& c);      // Add, Sub, Mul, Div
Status convert_concat(Converter& c);
Status convert_flatten(Converter& c);
Status convert_reshape(Converter& c);
Status convert_softmax(Converter& c);
Status convert_pad(Converter& c);
Status convert_resize(Converter& c);  // Resize, Upsample
Status convert_space_to_depth(Converter& c);
// ops_const.cpp: constants and folded shape computations
Status convert_identity(Converter& c);  // Identity, Dropout
Status convert_constant(Converter& c);
Status convert_shape(Converter& c);
Status convert_gather(Converter& c);
Status convert_unsqueeze(Converter& c);  // Unsqueeze, Squeeze
Status convert_cast(Converter& c);
Status convert_constant_of_shape(Converter& c);
Status convert_slice(Converter& c);
Status convert_transpose(Converter& c);

}  // namespace coinfer::onnx_io::detail
