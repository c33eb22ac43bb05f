// graph::Graph -> ONNX (opset 13, ir_version 7). Each IR node becomes one
// ONNX node named like it, plus one node for a fused activation (and a
// Flatten before a Dense whose input is [1,C,1,1]). Value names are the node
// names, made unique; the input and output use g.input_name / g.output_name.
#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes onnx/onnx-ml.pb.h

#include <fstream>
#include <set>

#include "onnx/importer.h"

namespace coinfer::onnx_io {

using graph::Act;
using graph::Node;
using graph::OpKind;

namespace {

class Exporter {
 public:
  explicit Exporter(const graph::Graph& g) : g_(g) {}

  Result<std::string> run() {
    if (g_.nodes.empty() || g_.nodes[0].kind != OpKind::Input)
      return errorf("export '{}': first node must be the input", g_.name);
    if (g_.output < 0 || g_.output >= int(g_.nodes.size()))
      return errorf("export '{}': output id {} out of range", g_.name, g_.output);
    onnx::ModelProto m;
    m.set_ir_version(7);
    m.set_producer_name("coinfer");
    m.add_opset_import()->set_version(13);
    gp_ = m.mutable_graph();
    gp_->set_name(g_.name);
    used_ = {g_.input_name, g_.output_name};
    value_.assign(g_.nodes.size(), "");
    value_[0] = g_.input_name;
    value_info(gp_->add_input(), g_.input_name, g_.nodes[0].out);
    for (size_t i = 1; i < g_.nodes.size(); ++i) RETURN_IF_ERROR(emit(int(i)));
    if (g_.output == 0) add_node("Identity", "output", {g_.input_name}, g_.output_name);
    value_info(gp_->add_output(), g_.output_name, g_.output_shape());
    std::string bytes;
    if (!m.SerializeToString(&bytes))
      return errorf("export '{}': serialization failed (model over 2 GiB?)", g_.name);
    return bytes;
  }

 private:
  std::string unique(const std::string& base) {
    std::string name = base;
    for (int k = 2; used_.count(name); ++k) name = fmt::format("{}_{}", base, k);
    used_.insert(name);
    return name;
  }

  static void value_info(onnx::ValueInfoProto* v, const std::string& name, const Shape& s) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    std::vector<int64_t> dims =
        s.rank == 2 ? std::vector<int64_t>{1, s.c} : std::vector<int64_t>{1, s.c, s.h, s.w};
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }

  std::string init_f(const std::string& base, std::vector<int64_t> dims,
                     const std::vector<float>& data) {
    onnx::TensorProto* t = gp_->add_initializer();
    t->set_name(unique(base));
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(data.data()), data.size() * 4));
    return t->name();
  }

  std::string init_i(const std::string& base, std::vector<int64_t> dims,
                     const std::vector<int64_t>& data) {
    onnx::TensorProto* t = gp_->add_initializer();
    t->set_name(unique(base));
    t->set_data_type(onnx::TensorProto::INT64);
    for (int64_t d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char*>(data.data()), data.size() * 8));
    return t->name();
  }

  // A float scalar from a Constant node (as torch exports Clip bounds).
  std::string constant(const std::string& base, float v) {
    std::string out = unique(base);
    onnx::NodeProto* n = add_node("Constant", out, {}, out);
    onnx::AttributeProto* a = attr(n, "value", onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
    a->mutable_t()->add_float_data(v);
    return out;
  }

  onnx::NodeProto* add_node(const std::string& op, const std::string& name,
                            const std::vector<std::string>& inputs, const std::string& output) {
    onnx::NodeProto* n = gp_->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& in : inputs) n->add_input(in);
    n->add_output(output);
    return n;
  }

  static onnx::AttributeProto* attr(onnx::NodeProto* n, const char* name,
                                    onnx::AttributeProto::AttributeType t) {
    onnx::AttributeProto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(t);
    return a;
  }
  static void attr_int(onnx::NodeProto* n, const char* name, int64_t v) {
    attr(n, name, onnx::AttributeProto::INT)->set_i(v);
  }
  static void attr_ints(onnx::NodeProto* n, const char* name, std::vector<int64_t> v) {
    onnx::AttributeProto* a = attr(n, name, onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void attr_str(onnx::NodeProto* n, const char* name, const std::string& v) {
    attr(n, name, onnx::AttributeProto::STRING)->set_s(v);
  }

  void window(onnx::NodeProto* o, const graph::Window& w, bool dilations) {
    attr_ints(o, "kernel_shape", {w.kh, w.kw});
    attr_ints(o, "strides", {w.sh, w.sw});
    attr_ints(o, "pads", {w.pt, w.pl, w.pb, w.pr});
    if (dilations && (w.dh != 1 || w.dw != 1)) attr_ints(o, "dilations", {w.dh, w.dw});
  }

  // Emits activation `n.act` of `in` into `out` as node `name`.
  void activation(const Node& n, const std::string& name, const std::string& in,
                  const std::string& out) {
    switch (n.act) {
      case Act::Relu:
        add_node("Relu", name, {in}, out);
        break;
      case Act::Sigmoid:
        add_node("Sigmoid", name, {in}, out);
        break;
      case Act::LeakyRelu:
        attr(add_node("LeakyRelu", name, {in}, out), "alpha", onnx::AttributeProto::FLOAT)
            ->set_f(n.alpha);
        break;
      case Act::Clip: {
        std::string lo = constant(name + ".min", n.act_min);
        std::string hi = constant(name + ".max", n.act_max);
        add_node("Clip", name, {in, lo, hi}, out);
        break;
      }
      case Act::None:
      case Act::Count:
        break;
    }
  }

  Status emit(int id) {
    const Node& n = g_.nodes[size_t(id)];
    auto bad = [&](const std::string& rule) {
      return Status::error(
          fmt::format("export '{}': {} '{}': {}", g_.name, graph::op_name(n.kind), n.name, rule));
    };
    if (n.inputs.empty()) return bad("no inputs");
    for (int in : n.inputs)
      if (in < 0 || in >= id) return bad("input ids must name earlier nodes");
    if (n.act >= Act::Count) return bad("unknown activation");
    std::vector<std::string> in;
    for (int i : n.inputs) in.push_back(value_[size_t(i)]);
    const Shape x = g_.nodes[size_t(n.inputs[0])].out;
    const std::string final_out = id == g_.output ? g_.output_name : unique(n.name);
    const bool fused = n.kind != OpKind::Unary && n.act != Act::None;
    const std::string out = fused ? unique(n.name + ".pre_act") : final_out;
    onnx::NodeProto* o = nullptr;
    switch (n.kind) {
      case OpKind::Input:
      case OpKind::Count:
        return bad("not an exportable op");
      case OpKind::Conv: {
        const int O = n.out.c, I = x.c / std::max(n.groups, 1), KH = n.win.kh, KW = n.win.kw;
        if (n.weight.size() != size_t(O) * I * KH * KW) return bad("weight size mismatch");
        std::vector<float> w(n.weight.size());  // OHWI -> OIHW
        for (int oc = 0; oc < O; ++oc)
          for (int y = 0; y < KH; ++y)
            for (int z = 0; z < KW; ++z)
              for (int i = 0; i < I; ++i)
                w[((size_t(oc) * I + i) * KH + y) * KW + z] =
                    n.weight[((size_t(oc) * KH + y) * KW + z) * I + i];
        in.push_back(init_f(n.name + ".weight", {O, I, KH, KW}, w));
        if (!n.bias.empty()) in.push_back(init_f(n.name + ".bias", {O}, n.bias));
        o = add_node("Conv", n.name, in, out);
        window(o, n.win, true);
        attr_int(o, "group", n.groups);
        break;
      }
      case OpKind::MaxPool:
      case OpKind::AvgPool: {
        bool max = n.kind == OpKind::MaxPool;
        if (!max && (n.win.dh != 1 || n.win.dw != 1)) return bad("AvgPool dilation: not in ONNX");
        o = add_node(max ? "MaxPool" : "AveragePool", n.name, in, out);
        window(o, n.win, max);
        attr_int(o, "ceil_mode", n.win.ceil_mode);
        if (!max) attr_int(o, "count_include_pad", n.win.count_include_pad);
        break;
      }
      case OpKind::GlobalAvgPool:
        add_node("GlobalAveragePool", n.name, in, out);
        break;
      case OpKind::Dense: {
        const int64_t I = x.elements(), O = n.out.c;
        if (n.weight.size() != size_t(I * O)) return bad("weight size mismatch");
        if (x.rank != 2) {  // Gemm needs a 2-D input
          std::string flat = unique(n.name + ".flatten");
          attr_int(add_node("Flatten", flat, in, flat), "axis", 1);
          in = {flat};
        }
        in.push_back(init_f(n.name + ".weight", {O, I}, n.weight));
        if (!n.bias.empty()) in.push_back(init_f(n.name + ".bias", {O}, n.bias));
        attr_int(add_node("Gemm", n.name, in, out), "transB", 1);
        break;
      }
      case OpKind::Add:
      case OpKind::Mul: {
        if (n.inputs.size() == 1) {
          const size_t k = n.weight.size();
          if (k != 1 && k != size_t(x.c)) return bad("constant must have 1 or C values");
          std::vector<int64_t> dims = k == 1        ? std::vector<int64_t>{1}
                                      : x.rank == 2 ? std::vector<int64_t>{1, x.c}
                                                    : std::vector<int64_t>{1, x.c, 1, 1};
          in.push_back(init_f(n.name + ".constant", dims, n.weight));
        }
        add_node(n.kind == OpKind::Add ? "Add" : "Mul", n.name, in, out);
        break;
      }
      case OpKind::Concat:
        attr_int(add_node("Concat", n.name, in, out), "axis", 1);
        break;
      case OpKind::Flatten:
        attr_int(add_node("Flatten", n.name, in, out), "axis", 1);
        break;
      case OpKind::Unflatten:
        in.push_back(init_i(n.name + ".shape", {4}, {1, n.out.c, 1, 1}));
        add_node("Reshape", n.name, in, out);
        break;
      case OpKind::Softmax:
        attr_int(add_node("Softmax", n.name, in, out), "axis", 1);
        break;
      case OpKind::Pad: {
        const int* p = n.pads;
        in.push_back(init_i(n.name + ".pads", {8}, {0, 0, p[0], p[1], 0, 0, p[2], p[3]}));
        in.push_back(init_f(n.name + ".value", {}, {n.pad_value}));
        attr_str(add_node("Pad", n.name, in, out), "mode", "constant");
        break;
      }
      case OpKind::Resize: {
        const float f = float(n.factor);
        in.push_back("");  // roi
        in.push_back(init_f(n.name + ".scales", {4}, {1.f, 1.f, f, f}));
        o = add_node("Resize", n.name, in, out);
        attr_str(o, "mode", "nearest");
        attr_str(o, "coordinate_transformation_mode", "asymmetric");
        attr_str(o, "nearest_mode", "floor");
        break;
      }
      case OpKind::SpaceToDepth:
        attr_int(add_node("SpaceToDepth", n.name, in, out), "blocksize", n.factor);
        break;
      case OpKind::Unary: {
        if (n.act == Act::None) return bad("no activation set");
        activation(n, n.name, in[0], out);
        break;
      }
    }
    if (fused) activation(n, fmt::format("{}/{}", n.name, graph::act_name(n.act)), out, final_out);
    value_[size_t(id)] = final_out;
    return ok_status();
  }

  const graph::Graph& g_;
  onnx::GraphProto* gp_ = nullptr;
  std::set<std::string> used_;
  std::vector<std::string> value_;  // ONNX value name of each node's output
};

}  // namespace

std::string to_onnx_bytes(const graph::Graph& g) {
  Result<std::string> r = Exporter(g).run();
  return r.ok() ? std::move(r).value() : std::string();
}

Status save_onnx(const graph::Graph& g, const std::string& path) {
  Result<std::string> r = Exporter(g).run();
  if (!r.ok()) return r.status();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return errorf("onnx '{}': cannot open for writing", path);
  f.write(r->data(), std::streamsize(r->size()));
  f.close();
  if (!f) return errorf("onnx '{}': write failed", path);
  return ok_status();
}

}  // namespace coinfer::onnx_io
