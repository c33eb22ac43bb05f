// ONNX -> graph::Graph: the conversion driver, tensor decoding, attribute and
// input access. The op converters live in ops_*.cpp.
#include "onnx/importer.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "onnx/converter.h"

namespace coinfer::onnx_io {

namespace detail {

static_assert(std::endian::native == std::endian::little,
              "raw_data is little-endian and decoded with memcpy");

namespace {

// At most 2^31 elements per tensor (8 GiB of float32).
constexpr int64_t kMaxElements = int64_t(1) << 31;
// Largest single dimension of the graph input.
constexpr int64_t kMaxDim = 1 << 24;

const std::unordered_map<std::string, OpConverter>& op_table() {
  static const std::unordered_map<std::string, OpConverter> table = {
      {"Conv", convert_conv},
      {"BatchNormalization", convert_batch_norm},
      {"MaxPool", convert_max_pool},
      {"AveragePool", convert_avg_pool},
      {"GlobalAveragePool", convert_global_avg_pool},
      {"Gemm", convert_gemm},
      {"MatMul", convert_matmul},
      {"Relu", convert_activation},
      {"Sigmoid", convert_activation},
      {"LeakyRelu", convert_activation},
      {"Clip", convert_activation},
      {"Add", convert_binary},
      {"Sub", convert_binary},
      {"Mul", convert_binary},
      {"Div", convert_binary},
      {"Concat", convert_concat},
      {"Flatten", convert_flatten},
      {"Reshape", convert_reshape},
      {"Softmax", convert_softmax},
      {"Pad", convert_pad},
      {"Resize", convert_resize},
      {"Upsample", convert_resize},
      {"SpaceToDepth", convert_space_to_depth},
      {"Identity", convert_identity},
      {"Dropout", convert_identity},
      {"Constant", convert_constant},
      {"Shape", convert_shape},
      {"Gather", convert_gather},
      {"Unsqueeze", convert_unsqueeze},
      {"Squeeze", convert_unsqueeze},
      {"Cast", convert_cast},
      {"ConstantOfShape", convert_constant_of_shape},
      {"Slice", convert_slice},
      {"Transpose", convert_transpose},
  };
  return table;
}

// Copies `n` little-endian values of type T from `raw` into `out`.
template <typename T, typename Out>
void from_raw(const std::string& raw, std::vector<Out>& out) {
  for (size_t k = 0; k < out.size(); ++k) {
    T v;
    std::memcpy(&v, raw.data() + k * sizeof(T), sizeof(T));
    out[k] = Out(v);
  }
}

// Fills `out` with `n` values from raw_data or the typed repeated field,
// checking the stored size before allocating.
template <typename T, typename Out, typename Field>
Status fill(const onnx::TensorProto& t, const Field& field, const char* field_name, int64_t n,
            std::vector<Out>& out, const std::string& where) {
  if (t.has_raw_data()) {
    if (t.raw_data().size() != size_t(n) * sizeof(T))
      return Status::error(fmt::format("{}raw_data has {} bytes: needs {}", where,
                                       t.raw_data().size(), size_t(n) * sizeof(T)));
    out.resize(size_t(n));
    from_raw<T>(t.raw_data(), out);
    return ok_status();
  }
  if (int64_t(field.size()) != n)
    return Status::error(
        fmt::format("{}{} has {} values: needs {}", where, field_name, field.size(), n));
  out.resize(size_t(n));
  for (size_t k = 0; k < out.size(); ++k) out[k] = Out(field.Get(int(k)));
  return ok_status();
}

}  // namespace

std::string dims_str(const std::vector<int64_t>& dims) {
  return fmt::format("[{}]", fmt::join(dims, ","));
}

std::vector<int64_t> onnx_dims(const Shape& s) {
  if (s.rank == 2) return {1, s.c};
  return {1, s.c, s.h, s.w};
}

Converter::Converter(const onnx::ModelProto& model, std::string what)
    : model_(model), what_(std::move(what)) {}

std::string Converter::prefix() const {
  if (!node_) return fmt::format("onnx '{}': ", what_);
  return fmt::format("onnx '{}': node '{}' ({}): ", what_, node_name_, node_->op_type());
}

Result<ConstPtr> Converter::decode(const onnx::TensorProto& t, const std::string& name) const {
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    return fail("tensor '{}': external data is not supported: store weights in the model", name);
  if (t.has_segment()) return fail("tensor '{}': segmented tensors are not supported", name);
  auto c = std::make_shared<Const>();
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    c->dims.push_back(d);
    if (d < 0) return fail("tensor '{}': negative dimension {}", name, d);
    if (d > 0 && n > kMaxElements / d)
      return fail("tensor '{}': more than 2^31 elements: too large", name);
    n *= d;
  }
  std::string where = fmt::format("{}tensor '{}' {}: ", prefix(), name, dims_str(c->dims));
  Status st;
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      st = fill<float>(t, t.float_data(), "float_data", n, c->f, where);
      break;
    case onnx::TensorProto::DOUBLE:
      st = fill<double>(t, t.double_data(), "double_data", n, c->f, where);
      break;
    case onnx::TensorProto::INT64:
      c->is_int = true;
      st = fill<int64_t>(t, t.int64_data(), "int64_data", n, c->i, where);
      break;
    case onnx::TensorProto::INT32:
      c->is_int = true;
      st = fill<int32_t>(t, t.int32_data(), "int32_data", n, c->i, where);
      break;
    default:
      return fail("tensor '{}': data type {}: only float32, float64, int32 and int64 are supported",
                  name, onnx::TensorProto_DataType_Name(t.data_type()));
  }
  RETURN_IF_ERROR(st);
  return ConstPtr(std::move(c));
}

// --- Inputs ---

bool Converter::has_input(int k) const {
  return k >= 0 && k < node_->input_size() && !node_->input(k).empty();
}

bool Converter::input_is_const(int k) {
  if (!has_input(k)) return false;
  const std::string& name = node_->input(k);
  return consts_.count(name) || undecoded_.count(name);
}

Result<int> Converter::runtime_input(int k) {
  if (!has_input(k)) return fail("input {} is missing", k);
  const std::string& name = node_->input(k);
  auto it = runtime_.find(name);
  if (it != runtime_.end()) return it->second;
  if (input_is_const(k)) return fail("input '{}' is a constant: needs a runtime tensor", name);
  return fail("input '{}' is not a graph input, initializer or output of an earlier node", name);
}

Result<ConstPtr> Converter::const_input(int k) {
  if (!has_input(k)) return fail("input {} is missing", k);
  const std::string& name = node_->input(k);
  auto it = consts_.find(name);
  if (it != consts_.end()) return it->second;
  auto u = undecoded_.find(name);
  if (u != undecoded_.end()) {
    ASSIGN_OR_RETURN(ConstPtr c, decode(*u->second, name));
    if (uses(name) > 1) {  // keep a decoded copy only when another node reads it
      undecoded_.erase(u);
      consts_[name] = c;
    }
    return c;
  }
  if (runtime_.count(name))
    return fail("input '{}' is computed at run time: must be a constant (initializer or Constant)",
                name);
  return fail("input '{}' is not a graph input, initializer or output of an earlier node", name);
}

Result<ConstPtr> Converter::float_input(int k, const char* role) {
  ASSIGN_OR_RETURN(ConstPtr c, const_input(k));
  if (c->is_int) return fail("{} '{}' is an integer tensor: needs float32", role, node_->input(k));
  return c;
}

// --- Attributes ---

const onnx::AttributeProto* Converter::attr(const char* name) const {
  for (const onnx::AttributeProto& a : node_->attribute())
    if (a.name() == name) return &a;
  return nullptr;
}

bool Converter::has_attr(const char* name) const {
  return attr(name) != nullptr;
}

namespace {

// Old models may leave `type` unset; anything else must match.
bool type_ok(const onnx::AttributeProto& a, onnx::AttributeProto::AttributeType t) {
  return a.type() == t || a.type() == onnx::AttributeProto::UNDEFINED;
}

}  // namespace

#define COINFER_ATTR_TYPE(a, T)                                 \
  if (!type_ok(*a, onnx::AttributeProto::T))                    \
  return fail("attribute {} has type {}: needs " #T, a->name(), \
              onnx::AttributeProto_AttributeType_Name(a->type()))

Result<int64_t> Converter::attr_int(const char* name, int64_t dflt) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return dflt;
  COINFER_ATTR_TYPE(a, INT);
  return a->i();
}

Result<float> Converter::attr_float(const char* name, float dflt) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return dflt;
  COINFER_ATTR_TYPE(a, FLOAT);
  return a->f();
}

Result<std::string> Converter::attr_string(const char* name, const std::string& dflt) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return dflt;
  COINFER_ATTR_TYPE(a, STRING);
  return a->s();
}

Result<std::vector<int64_t>> Converter::attr_ints(const char* name) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return std::vector<int64_t>{};
  COINFER_ATTR_TYPE(a, INTS);
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

Result<std::vector<float>> Converter::attr_floats(const char* name) const {
  const onnx::AttributeProto* a = attr(name);
  if (!a) return std::vector<float>{};
  COINFER_ATTR_TYPE(a, FLOATS);
  return std::vector<float>(a->floats().begin(), a->floats().end());
}

#undef COINFER_ATTR_TYPE

Result<int> Converter::small_int(int64_t v, const std::string& what, int lo, int hi) const {
  if (v < lo || v > hi) return fail("{}={}: must be in [{}, {}]", what, v, lo, hi);
  return int(v);
}

// --- Outputs ---

Result<int> Converter::add_node(graph::Node n, const std::string& suffix) {
  std::string base = node_name_ + suffix;
  n.name = base;
  for (int k = 2; ir_names_.count(n.name); ++k) n.name = fmt::format("{}_{}", base, k);
  ir_names_[n.name] = 1;
  graph_.nodes.push_back(std::move(n));
  names_per_node_.push_back(0);
  Result<Shape> s = graph::infer_shape(graph_, graph_.nodes.back());
  if (!s.ok()) return Status::error(fmt::format("onnx '{}': {}", what_, s.error()));
  graph_.nodes.back().out = *s;
  return int(graph_.nodes.size()) - 1;
}

void Converter::bind(const std::string& name, int id) {
  consts_.erase(name);
  undecoded_.erase(name);
  runtime_[name] = id;
  ++names_per_node_[size_t(id)];
}

void Converter::bind_output(int k, int id) {
  bind(node_->output(k), id);
}

void Converter::bind_const(int k, ConstPtr c) {
  const std::string& name = node_->output(k);
  runtime_.erase(name);
  undecoded_.erase(name);
  consts_[name] = std::move(c);
}

Status Converter::alias_output(int k, int input_k) {
  if (!has_input(input_k)) return fail("input {} is missing", input_k);
  const std::string& in = node_->input(input_k);
  const std::string& out = node_->output(k);
  if (auto r = runtime_.find(in); r != runtime_.end()) {
    bind(out, r->second);
  } else if (auto c = consts_.find(in); c != consts_.end()) {
    bind_const(k, c->second);
  } else if (auto u = undecoded_.find(in); u != undecoded_.end()) {
    const onnx::TensorProto* t = u->second;
    runtime_.erase(out);
    consts_.erase(out);
    undecoded_[out] = t;
  } else {
    return fail("input '{}' is not a graph input, initializer or output of an earlier node", in);
  }
  return ok_status();
}

int Converter::uses(const std::string& name) const {
  auto it = uses_.find(name);
  return it == uses_.end() ? 0 : it->second;
}

// --- The driver ---

Status Converter::read_input(const onnx::ValueInfoProto& in) {
  auto bad = [&](const std::string& rule) {
    return Status::error(fmt::format("onnx '{}': input '{}': {}", what_, in.name(), rule));
  };
  if (in.name().empty()) return bad("empty name");
  if (!in.type().has_tensor_type()) return bad("not a tensor");
  const onnx::TypeProto::Tensor& tt = in.type().tensor_type();
  if (tt.elem_type() != onnx::TensorProto::FLOAT)
    return bad(fmt::format("element type {}: only float32 is supported",
                           onnx::TensorProto_DataType_Name(tt.elem_type())));
  if (!tt.has_shape()) return bad("no shape: shapes must be static");
  int rank = tt.shape().dim_size();
  if (rank != 4 && rank != 2) return bad(fmt::format("rank {}: needs [1,C,H,W] or [1,F]", rank));
  std::vector<int64_t> d(size_t(rank), 1);
  for (int k = 0; k < rank; ++k) {
    const onnx::TensorShapeProto::Dimension& dim = tt.shape().dim(k);
    if (dim.has_dim_value()) {
      d[size_t(k)] = dim.dim_value();
      if (k == 0 && dim.dim_value() != 1)
        return bad(fmt::format("batch {}: only batch 1 is supported", dim.dim_value()));
      if (dim.dim_value() < 1 || dim.dim_value() > kMaxDim)
        return bad(
            fmt::format("dimension {} is {}: must be in [1, {}]", k, dim.dim_value(), kMaxDim));
    } else if (k == 0) {
      d[0] = 1;  // a symbolic or unknown batch is taken as 1
    } else if (dim.has_dim_param()) {
      return bad(fmt::format("dimension {} is symbolic ('{}'): shapes must be static", k,
                             dim.dim_param()));
    } else {
      return bad(fmt::format("dimension {} is unknown: shapes must be static", k));
    }
  }
  int64_t elements = 1;
  for (int64_t v : d) elements *= v;  // each <= 2^24, rank <= 4: no overflow
  if (elements > kMaxElements) return bad(fmt::format("{} elements: too large", elements));
  graph::Node n;
  n.name = in.name();
  n.kind = graph::OpKind::Input;
  n.out = rank == 4 ? Shape{int(d[1]), int(d[2]), int(d[3]), 4} : Shape{int(d[1]), 1, 1, 2};
  graph_.nodes.push_back(std::move(n));
  names_per_node_.push_back(0);
  ir_names_[in.name()] = 1;
  graph_.input_name = in.name();
  bind(in.name(), 0);
  return ok_status();
}

Status Converter::convert_node(const onnx::NodeProto& n) {
  node_ = &n;
  node_name_ = !n.name().empty() ? n.name() : n.output_size() > 0 ? n.output(0) : "";
  if (n.output_size() == 0 || n.output(0).empty()) return fail("node has no output");
  if (!n.domain().empty() && n.domain() != "ai.onnx")
    return fail("domain '{}': unsupported op", n.domain());
  auto it = op_table().find(n.op_type());
  if (it == op_table().end()) return fail("unsupported op");
  RETURN_IF_ERROR(it->second(*this));
  for (int k = 0; k < n.output_size(); ++k) {
    const std::string& out = n.output(k);
    if (out.empty() || uses(out) == 0) continue;
    if (!runtime_.count(out) && !consts_.count(out) && !undecoded_.count(out))
      return fail("output {} ('{}') is used but not supported", k, out);
  }
  return ok_status();
}

Result<graph::Graph> Converter::run() {
  auto top = [&](const std::string& rule) {
    return Status::error(fmt::format("onnx '{}': {}", what_, rule));
  };
  if (!model_.has_graph()) return top("model has no graph");
  for (const onnx::OperatorSetIdProto& op : model_.opset_import())
    if (op.domain().empty() || op.domain() == "ai.onnx")
      opset_ = int(std::clamp<int64_t>(op.version(), -1, INT_MAX));
  if (opset_ == 0) return top("model has no opset_import for the default ONNX domain");
  if (opset_ < 7 || opset_ > 20)
    return top(fmt::format("opset {}: supported opsets are 7 to 20", opset_));
  const onnx::GraphProto& gp = model_.graph();
  if (gp.node_size() == 0) return top("graph has no nodes");

  for (const onnx::TensorProto& t : gp.initializer()) {
    if (t.name().empty()) return top("an initializer has no name");
    undecoded_[t.name()] = &t;
  }
  for (const onnx::NodeProto& n : gp.node())
    for (const std::string& in : n.input())
      if (!in.empty()) ++uses_[in];
  for (const onnx::ValueInfoProto& out : gp.output()) ++uses_[out.name()];

  std::vector<const onnx::ValueInfoProto*> inputs;
  std::vector<std::string> input_names;
  for (const onnx::ValueInfoProto& in : gp.input()) {
    if (undecoded_.count(in.name())) continue;  // an initializer listed as input
    inputs.push_back(&in);
    input_names.push_back("'" + in.name() + "'");
  }
  if (inputs.size() != 1)
    return top(fmt::format("graph has {} inputs ({}): needs exactly one", inputs.size(),
                           fmt::join(input_names, ", ")));
  RETURN_IF_ERROR(read_input(*inputs[0]));
  if (gp.output_size() != 1)
    return top(fmt::format("graph has {} outputs: needs exactly one", gp.output_size()));
  graph_.name = std::filesystem::path(what_).stem().string();

  for (const onnx::NodeProto& n : gp.node()) RETURN_IF_ERROR(convert_node(n));
  node_ = nullptr;

  const std::string& out = gp.output(0).name();
  auto it = runtime_.find(out);
  if (it == runtime_.end()) {
    if (consts_.count(out) || undecoded_.count(out))
      return top(fmt::format("output '{}' is a constant: needs a computed value", out));
    return top(fmt::format("output '{}' is not produced by any node", out));
  }
  graph_.output = it->second;
  graph_.output_name = out;
  graph::prune_dead(graph_);
  graph::fuse_activations(graph_);
  Status st = graph::infer_shapes(graph_);
  if (!st.ok()) return top(st.message());
  return std::move(graph_);
}

}  // namespace detail

namespace {

Result<graph::Graph> convert(const onnx::ModelProto& model, const std::string& what) {
  try {
    return detail::Converter(model, what).run();
  } catch (const std::exception& e) {  // e.g. std::bad_alloc on a huge model
    return errorf("onnx '{}': {}", what, e.what());
  }
}

}  // namespace

Result<graph::Graph> parse_onnx(const std::string& bytes, const std::string& what) {
  onnx::ModelProto model;
  if (!model.ParseFromString(bytes))
    return errorf("onnx '{}': not a valid ONNX ModelProto (truncated or corrupt)", what);
  return convert(model, what);
}

Result<graph::Graph> load_onnx(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);  // fails on directories
  if (ec) return errorf("onnx '{}': cannot open file: {}", path, ec.message());
  if (size > uintmax_t(INT_MAX))
    return errorf("onnx '{}': {} bytes: protobuf files are limited to 2 GiB", path, size);
  onnx::ModelProto model;
  {
    std::string bytes(size_t(size), '\0');
    std::ifstream f(path, std::ios::binary);
    if (!f || !f.read(bytes.data(), std::streamsize(size)))
      return errorf("onnx '{}': cannot read file", path);
    if (!model.ParseFromString(bytes))
      return errorf("onnx '{}': not a valid ONNX ModelProto (truncated or corrupt)", path);
  }  // the bytes are freed before the weights are converted
  return convert(model, path);
}

}  // namespace coinfer::onnx_io
