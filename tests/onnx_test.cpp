// ONNX import/export: round trips of Builder graphs, hand-made ONNX protos for
// the importer's rewrites (BN folding, Gemm layouts, constant folding), and
// malformed models that must fail with a one-line message.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "graph/builder.h"
#include "onnx/importer.h"

using namespace coinfer;
using namespace coinfer::graph;
namespace oi = coinfer::onnx_io;

namespace {

void expect_same_graph(const Graph& a, const Graph& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.input_name, b.input_name);
  EXPECT_EQ(a.output_name, b.output_name);
  EXPECT_EQ(a.output, b.output);
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  auto win = [](const Window& w) {
    return std::vector<int>{w.kh, w.kw, w.sh, w.sw, w.dh,        w.dw,
                            w.pt, w.pl, w.pb, w.pr, w.ceil_mode, w.count_include_pad};
  };
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    SCOPED_TRACE("node " + x.name);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.out, y.out);
    EXPECT_EQ(win(x.win), win(y.win));
    EXPECT_EQ(x.groups, y.groups);
    EXPECT_EQ(x.factor, y.factor);
    EXPECT_EQ(std::vector<int>(x.pads, x.pads + 4), std::vector<int>(y.pads, y.pads + 4));
    EXPECT_EQ(x.pad_value, y.pad_value);
    EXPECT_EQ(x.act, y.act);
    EXPECT_EQ(x.act_min, y.act_min);
    EXPECT_EQ(x.act_max, y.act_max);
    if (x.act == Act::LeakyRelu) {
      EXPECT_EQ(x.alpha, y.alpha);
    }
    EXPECT_EQ(x.weight, y.weight);  // bit-exact
    EXPECT_EQ(x.bias, y.bias);
  }
}

Graph round_trip(const Graph& g) {
  std::string bytes = oi::to_onnx_bytes(g);
  EXPECT_FALSE(bytes.empty());
  Result<Graph> r = oi::parse_onnx(bytes, "models/" + g.name + ".onnx");
  EXPECT_TRUE(r.ok()) << r.error();
  return r.ok() ? std::move(r).value() : Graph{};
}

Graph finish(Builder& b, int out) {
  Result<Graph> g = b.finish(out);
  EXPECT_TRUE(g.ok()) << g.error();
  return g.ok() ? std::move(g).value() : Graph{};
}

// Appends a node reading the output to a finished graph, makes it the output
// and re-infers shapes.
void append(Graph& g, OpKind kind, const std::string& name, std::vector<float> weight = {}) {
  Node n;
  n.kind = kind;
  n.name = name;
  n.weight = std::move(weight);
  n.inputs = {g.output};
  g.nodes.push_back(std::move(n));
  g.output = int(g.nodes.size()) - 1;
  Status st = infer_shapes(g);
  ASSERT_TRUE(st.ok()) << st.message();
}

// A hand-made ONNX model.
struct Model {
  onnx::ModelProto m;
  onnx::GraphProto* g;

  explicit Model(int opset = 13) {
    m.set_ir_version(7);
    m.add_opset_import()->set_version(opset);
    g = m.mutable_graph();
    g->set_name("hand");
  }
  // Dims are numbers or symbolic names: {"N", "3", "8", "8"}.
  void input(const std::string& name, const std::vector<std::string>& dims) {
    auto* tt = g->add_input()->mutable_type()->mutable_tensor_type();
    g->mutable_input(g->input_size() - 1)->set_name(name);
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    for (const std::string& d : dims) {
      auto* dim = tt->mutable_shape()->add_dim();
      if (std::isdigit(static_cast<unsigned char>(d[0])))
        dim->set_dim_value(std::stoll(d));
      else
        dim->set_dim_param(d);
    }
  }
  void output(const std::string& name) { g->add_output()->set_name(name); }
  onnx::TensorProto* tensor(const std::string& name, std::vector<int64_t> dims, int type) {
    onnx::TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    return t;
  }
  void init(const std::string& name, std::vector<int64_t> dims, std::vector<float> v) {
    onnx::TensorProto* t = tensor(name, dims, onnx::TensorProto::FLOAT);
    for (float x : v) t->add_float_data(x);
  }
  void init_i(const std::string& name, std::vector<int64_t> dims, std::vector<int64_t> v) {
    onnx::TensorProto* t = tensor(name, dims, onnx::TensorProto::INT64);
    for (int64_t x : v) t->add_int64_data(x);
  }
  onnx::NodeProto* node(const std::string& op, std::vector<std::string> in, const std::string& out,
                        const std::string& name = "") {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const std::string& s : in) n->add_input(s);
    n->add_output(out);
    return n;
  }
  Result<Graph> import() const { return oi::parse_onnx(m.SerializeAsString(), "m.onnx"); }
};

onnx::AttributeProto* attr(onnx::NodeProto* n, const char* name,
                           onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}
void set_ints(onnx::NodeProto* n, const char* name, std::vector<int64_t> v) {
  onnx::AttributeProto* a = attr(n, name, onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void set_int(onnx::NodeProto* n, const char* name, int64_t v) {
  attr(n, name, onnx::AttributeProto::INT)->set_i(v);
}
void set_float(onnx::NodeProto* n, const char* name, float v) {
  attr(n, name, onnx::AttributeProto::FLOAT)->set_f(v);
}
void set_str(onnx::NodeProto* n, const char* name, const std::string& v) {
  attr(n, name, onnx::AttributeProto::STRING)->set_s(v);
}

std::vector<float> ramp(size_t n, float scale, float offset = 0.f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = offset + scale * float((i * 7) % 13) - scale * 6;
  return v;
}

void expect_error(const Result<Graph>& r, const std::vector<std::string>& parts) {
  ASSERT_FALSE(r.ok());
  for (const std::string& p : parts) EXPECT_NE(r.error().find(p), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find('\n'), std::string::npos) << "one line: " << r.error();
}

}  // namespace

// --- Export -> import round trips ---

TEST(OnnxRoundTrip, ConvVariants) {
  Builder b("convs", Shape{4, 17, 15}, 1);
  Window w;
  w.kh = 3, w.kw = 5, w.sh = 2, w.sw = 1, w.pt = 1, w.pl = 2, w.pb = 0, w.pr = 1;
  int x = b.conv_w(b.input(), 8, w, Act::Relu);
  x = b.conv(x, 8, 3, 1, 2, Act::Clip, /*groups=*/4, /*dilation=*/2);
  x = b.conv(x, 8, 3, 1, 1, Act::None, /*groups=*/8);
  x = b.activation(x, Act::LeakyRelu, 0.2f);
  x = b.conv(x, 6, 1, 1, 0, Act::Sigmoid);
  Graph g = finish(b, x);
  ASSERT_EQ(g.nodes.size(), 5u);
  expect_same_graph(g, round_trip(g));
}

TEST(OnnxRoundTrip, PoolsDenseSoftmax) {
  Builder b("pools", Shape{3, 20, 21}, 2);
  int x = b.conv(b.input(), 8, 3, 1, 1);
  x = b.maxpool(x, 3, 2, 1, /*ceil_mode=*/true);
  x = b.avgpool(x, 3, 2, 1, /*ceil_mode=*/true, /*count_include_pad=*/false);
  Window w;
  w.kh = w.kw = 2, w.dh = w.dw = 2;
  x = b.maxpool_w(x, w);
  x = b.avgpool(x, 2, 1, 0, false, true);
  x = b.global_avgpool(x);
  x = b.dense(b.flatten(x), 10, Act::None);
  x = b.softmax(x);
  Graph g = finish(b, x);
  expect_same_graph(g, round_trip(g));
}

TEST(OnnxRoundTrip, BranchesAndConstants) {
  Builder b("branches", Shape{3, 16, 16}, 3);
  int a = b.conv(b.input(), 8, 3, 1, 1);
  int c1 = b.conv(a, 8, 1, 1, 0, Act::None);
  int c2 = b.conv(a, 8, 3, 1, 1, Act::None);
  int s = b.add(c1, c2, Act::Relu);
  int m = b.mul(s, c1);
  int cat = b.concat({s, m, a});
  int gp = b.global_avgpool(cat);
  int x = b.mul(cat, gp);  // per-channel broadcast of a computed tensor
  Graph g = finish(b, x);
  append(g, OpKind::Add, "bias", ramp(24, 0.5f));
  append(g, OpKind::Mul, "scale", {0.25f});
  append(g, OpKind::Flatten, "flat");
  append(g, OpKind::Add, "feature_bias", ramp(24 * 16 * 16, 0.1f));  // per feature of [1,F]
  expect_same_graph(g, round_trip(g));
}

TEST(OnnxRoundTrip, ResizeSpaceToDepthPadActivations) {
  Builder b("misc", Shape{3, 8, 8}, 4);
  int x = b.conv(b.input(), 8, 3, 1, 1, Act::None);
  x = b.resize(x, 2);
  x = b.space_to_depth(x, 2);
  x = b.pad(x, 1, 2, 0, 3, 0.5f);
  x = b.clip(x, -1.f, 2.f);
  x = b.maxpool(x, 2, 2);
  x = b.activation(x, Act::Sigmoid);
  x = b.activation(x, Act::LeakyRelu, 0.3f);
  Graph g = finish(b, x);
  EXPECT_EQ(g.output_shape(), (Shape{32, 4, 6, 4}));
  expect_same_graph(g, round_trip(g));
}

TEST(OnnxRoundTrip, DenseOnPooledValueGetsFlatten) {
  Builder b("gap", Shape{3, 8, 8}, 5);
  int x = b.global_avgpool(b.conv(b.input(), 16, 3, 1, 1));
  Graph g = finish(b, b.dense(x, 4, Act::None));  // Dense straight on [1,16,1,1]
  Graph r = round_trip(g);
  ASSERT_EQ(r.nodes.size(), g.nodes.size() + 1);
  EXPECT_EQ(r.nodes[3].kind, OpKind::Flatten);
  EXPECT_EQ(r.nodes[4].weight, g.nodes[3].weight);
  EXPECT_EQ(r.output_shape(), g.output_shape());
}

TEST(OnnxRoundTrip, SaveAndLoadFile) {
  Builder b("filed", Shape{3, 8, 8}, 6);
  Graph g = finish(b, b.maxpool(b.conv(b.input(), 4, 3, 1, 1), 2, 2));
  std::string path = ::testing::TempDir() + "/filed.onnx";
  Status st = oi::save_onnx(g, path);
  ASSERT_TRUE(st.ok()) << st.message();
  Result<Graph> r = oi::load_onnx(path);
  ASSERT_TRUE(r.ok()) << r.error();
  expect_same_graph(g, *r);
  std::filesystem::remove(path);
  expect_error(oi::load_onnx(path), {"cannot open"});
}

// --- Hand-made models: the importer's rewrites ---

// Conv + BatchNormalization(eps 1e-3) + Relu, opset 13, with bias.
Model conv_bn(bool conv_used_twice) {
  Model m;
  m.input("x", {"N", "2", "5", "5"});
  m.init("W", {3, 2, 3, 3}, ramp(54, 0.1f));
  m.init("B", {3}, {0.5f, -0.25f, 1.f});
  m.init("gamma", {3}, {1.5f, 0.5f, -2.f});
  m.init("beta", {3}, {0.1f, 0.2f, 0.3f});
  m.init("mean", {3}, {0.3f, -0.2f, 0.05f});
  m.init("var", {3}, {0.9f, 2.f, 0.01f});
  set_ints(m.node("Conv", {"x", "W", "B"}, "c", "conv"), "pads", {1, 1, 1, 1});
  set_float(m.node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, "y", "bn"),
            "epsilon", 1e-3f);
  if (conv_used_twice)
    m.node("Add", {"y", "c"}, "z", "sum");
  else
    m.node("Relu", {"y"}, "z", "relu");
  m.output("z");
  return m;
}

TEST(OnnxImport, BatchNormFoldsIntoConv) {
  Result<Graph> r = conv_bn(false).import();
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->nodes.size(), 2u);
  const Node& n = r->nodes[1];
  EXPECT_EQ(n.name, "conv");
  EXPECT_EQ(n.kind, OpKind::Conv);
  EXPECT_EQ(n.act, Act::Relu);
  EXPECT_EQ(n.out, (Shape{3, 5, 5, 4}));
  std::vector<float> w = ramp(54, 0.1f), b = {0.5f, -0.25f, 1.f}, gamma = {1.5f, 0.5f, -2.f},
                     beta = {0.1f, 0.2f, 0.3f}, mean = {0.3f, -0.2f, 0.05f},
                     var = {0.9f, 2.f, 0.01f};
  for (int o = 0; o < 3; ++o) {
    double s = gamma[o] / std::sqrt(double(var[o]) + 1e-3);
    EXPECT_NEAR(n.bias[o], (b[o] - mean[o]) * s + beta[o], 1e-5);
    for (int i = 0; i < 2; ++i)
      for (int y = 0; y < 3; ++y)
        for (int x = 0; x < 3; ++x)
          EXPECT_NEAR(n.weight[((o * 3 + y) * 3 + x) * 2 + i], w[((o * 2 + i) * 3 + y) * 3 + x] * s,
                      1e-5);
  }
}

TEST(OnnxImport, BatchNormBecomesMulAddWhenConvHasOtherConsumers) {
  Result<Graph> r = conv_bn(true).import();
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->nodes.size(), 5u);
  EXPECT_EQ(r->nodes[1].bias, (std::vector<float>{0.5f, -0.25f, 1.f}));  // not folded
  const Node& mul = r->nodes[2];
  const Node& add = r->nodes[3];
  EXPECT_EQ(mul.kind, OpKind::Mul);
  EXPECT_EQ(add.kind, OpKind::Add);
  EXPECT_EQ(add.name, "bn");
  ASSERT_EQ(mul.weight.size(), 3u);
  float s2 = 0.5f / std::sqrt(2.f + 1e-3f);
  EXPECT_NEAR(mul.weight[1], s2, 1e-6);
  EXPECT_NEAR(add.weight[1], 0.2f + 0.2f * s2, 1e-6);
  EXPECT_EQ(r->nodes[4].inputs, (std::vector<int>{3, 1}));
}

TEST(OnnxImport, GemmTransBZeroAndMatMul) {
  Model m;
  m.input("x", {"1", "4"});
  std::vector<float> B = ramp(12, 1.f);  // [I=4][O=3]
  m.init("B", {4, 3}, B);
  m.init("C", {1, 3}, {1.f, 2.f, 3.f});
  m.node("Gemm", {"x", "B", "C"}, "g", "fc");
  m.init("M", {3, 2}, {1.f, 2.f, 3.f, 4.f, 5.f, 6.f});
  m.init("bias", {2}, {0.5f, -0.5f});
  m.node("MatMul", {"g", "M"}, "mm", "mm");
  m.node("Add", {"mm", "bias"}, "y", "add");
  m.output("y");
  Result<Graph> r = m.import();
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->nodes.size(), 4u);
  const Node& fc = r->nodes[1];
  EXPECT_EQ(fc.kind, OpKind::Dense);
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 4; ++i) EXPECT_EQ(fc.weight[o * 4 + i], B[i * 3 + o]);
  EXPECT_EQ(fc.bias, (std::vector<float>{1.f, 2.f, 3.f}));
  EXPECT_EQ(r->nodes[2].weight, (std::vector<float>{1.f, 3.f, 5.f, 2.f, 4.f, 6.f}));
  EXPECT_EQ(r->nodes[3].kind, OpKind::Add);
  EXPECT_EQ(r->nodes[3].weight, (std::vector<float>{0.5f, -0.5f}));
  EXPECT_EQ(r->output_shape(), (Shape{2, 1, 1, 2}));
}

TEST(OnnxImport, IdentityOfInitializerIsAnAlias) {
  Model m;
  m.input("x", {"1", "2", "4", "4"});
  m.init("W", {2, 2, 1, 1}, {1.f, 2.f, 3.f, 4.f});
  m.node("Identity", {"W"}, "W_dup", "Identity_0");
  m.node("Conv", {"x", "W"}, "a", "conv1");
  m.node("Conv", {"a", "W_dup"}, "y", "conv2");
  m.output("y");
  Result<Graph> r = m.import();
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->nodes.size(), 3u);
  EXPECT_EQ(r->nodes[1].weight, (std::vector<float>{1.f, 2.f, 3.f, 4.f}));
  EXPECT_EQ(r->nodes[2].weight, r->nodes[1].weight);
}

TEST(OnnxImport, ClipBoundsFromConstantsAndAttributes) {
  Model m(11);
  m.input("x", {"1", "2", "4", "4"});
  set_ints(m.node("MaxPool", {"x"}, "p", "pool"), "kernel_shape", {2, 2});
  onnx::TensorProto* lo =
      attr(m.node("Constant", {}, "lo"), "value", onnx::AttributeProto::TENSOR)->mutable_t();
  lo->set_data_type(onnx::TensorProto::FLOAT);
  lo->add_float_data(0.f);
  m.init("hi", {}, {6.f});
  m.node("Clip", {"p", "lo", "hi"}, "c", "clip6");
  m.node("Clip", {"c", "", "hi"}, "y", "clip_max");
  m.output("y");
  Result<Graph> r = m.import();
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->nodes.size(), 4u);
  EXPECT_EQ(r->nodes[2].act, Act::Clip);
  EXPECT_EQ(r->nodes[2].act_min, 0.f);
  EXPECT_EQ(r->nodes[2].act_max, 6.f);
  EXPECT_EQ(r->nodes[3].act_min, -std::numeric_limits<float>::infinity());

  Model old(10);  // attributes before opset 11
  old.input("x", {"1", "2", "4", "4"});
  auto* clip = old.node("Clip", {"x"}, "y", "clip");
  set_float(clip, "min", -1.f);
  set_float(clip, "max", 1.f);
  old.output("y");
  r = old.import();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->nodes[1].act_min, -1.f);
  EXPECT_EQ(r->nodes[1].act_max, 1.f);
}

TEST(OnnxImport, AutoPadSame) {
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER"}) {
    Model m;
    m.input("x", {"1", "1", "8", "8"});
    m.init("W", {1, 1, 3, 3}, ramp(9, 1.f));
    auto* conv = m.node("Conv", {"x", "W"}, "y", "conv");
    set_str(conv, "auto_pad", mode);
    set_ints(conv, "strides", {2, 2});
    m.output("y");
    Result<Graph> r = m.import();
    ASSERT_TRUE(r.ok()) << r.error();
    const Window& w = r->nodes[1].win;
    bool upper = std::string(mode) == "SAME_UPPER";
    EXPECT_EQ(std::vector<int>({w.pt, w.pl, w.pb, w.pr}),
              upper ? std::vector<int>({0, 0, 1, 1}) : std::vector<int>({1, 1, 0, 0}))
        << mode;
    EXPECT_EQ(r->output_shape(), (Shape{1, 4, 4, 4}));
  }
}

TEST(OnnxImport, FoldsShapeChainOfFlatten) {
  Model m;
  m.input("x", {"1", "2", "4", "4"});
  m.init("W", {3, 2, 1, 1}, ramp(6, 1.f));
  m.node("Conv", {"x", "W"}, "c", "conv");
  m.node("Shape", {"c"}, "s");
  m.init_i("zero", {}, {0});
  m.node("Gather", {"s", "zero"}, "n");
  m.init_i("axes", {1}, {0});
  m.node("Unsqueeze", {"n", "axes"}, "n1");
  m.init_i("minus1", {1}, {-1});
  set_int(m.node("Concat", {"n1", "minus1"}, "shape"), "axis", 0);
  m.node("Reshape", {"c", "shape"}, "f", "flatten");
  m.init("B", {5, 48}, ramp(240, 0.01f));
  set_int(m.node("Gemm", {"f", "B"}, "y", "fc"), "transB", 1);
  m.output("y");
  Result<Graph> r = m.import();
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->nodes.size(), 4u);
  EXPECT_EQ(r->nodes[2].kind, OpKind::Flatten);
  EXPECT_EQ(r->nodes[3].kind, OpKind::Dense);
  EXPECT_EQ(r->nodes[3].weight, ramp(240, 0.01f));
}

TEST(OnnxImport, UpsampleAndResizeBySizes) {
  Model up(7);
  up.input("x", {"1", "2", "3", "4"});
  auto* scales =
      attr(up.node("Upsample", {"x"}, "y", "up"), "scales", onnx::AttributeProto::FLOATS);
  for (float s : {1.f, 1.f, 3.f, 3.f}) scales->add_floats(s);
  up.output("y");
  Result<Graph> r = up.import();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->nodes[1].factor, 3);

  Model rs(11);
  rs.input("x", {"1", "2", "3", "4"});
  rs.init("roi", {0}, {});
  rs.init("scales", {0}, {});
  rs.init_i("sizes", {4}, {1, 2, 6, 8});
  set_str(rs.node("Resize", {"x", "roi", "scales", "sizes"}, "y", "resize"), "mode", "nearest");
  rs.output("y");
  r = rs.import();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->output_shape(), (Shape{2, 6, 8, 4}));
}

TEST(OnnxImport, FoldsTorchPadChain) {  // F.pad(x, (1, 0, 2, 1), value=0.5) at opset 13
  Model m;
  m.input("x", {"1", "2", "4", "4"});
  m.init_i("n_zero", {1}, {4});
  onnx::TensorProto* zero =
      attr(m.node("ConstantOfShape", {"n_zero"}, "zeros"), "value", onnx::AttributeProto::TENSOR)
          ->mutable_t();
  zero->set_data_type(onnx::TensorProto::INT64);
  zero->add_dims(1);
  zero->add_int64_data(0);
  m.init_i("torch_pads", {4}, {1, 0, 2, 1});  // (left, right, top, bottom)
  set_int(m.node("Concat", {"torch_pads", "zeros"}, "p8"), "axis", 0);
  m.init_i("pairs", {2}, {-1, 2});
  m.node("Reshape", {"p8", "pairs"}, "p42");
  m.init_i("st", {1}, {-1});
  m.init_i("en", {1}, {-9223372036854775807LL});
  m.init_i("ax", {1}, {0});
  m.node("Slice", {"p42", "st", "en", "ax", "st"}, "rev");
  set_ints(m.node("Transpose", {"rev"}, "t"), "perm", {1, 0});
  m.node("Reshape", {"t", "st"}, "flat");
  set_int(m.node("Cast", {"flat"}, "pads"), "to", 7);
  m.init("value", {}, {0.5f});
  m.node("Pad", {"x", "pads", "value"}, "y", "pad");
  m.output("y");
  Result<Graph> r = m.import();
  ASSERT_TRUE(r.ok()) << r.error();
  const Node& n = r->nodes[1];
  EXPECT_EQ(std::vector<int>(n.pads, n.pads + 4), std::vector<int>({2, 1, 1, 0}));
  EXPECT_EQ(n.pad_value, 0.5f);
}

TEST(OnnxImport, CeilModeAsEndPaddingBeforeOpset10) {
  Model m(9);
  m.input("x", {"1", "2", "16", "16"});
  auto* pool = m.node("MaxPool", {"x"}, "y", "pool");
  set_ints(pool, "kernel_shape", {3, 3});
  set_ints(pool, "strides", {2, 2});
  set_ints(pool, "pads", {1, 1, 3, 3});  // torch's ceil_mode=True export
  m.output("y");
  Result<Graph> r = m.import();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->output_shape(), (Shape{2, 9, 9, 4}));
  EXPECT_LT(r->nodes[1].win.pb, 3);
}

// --- Malformed models: one-line errors naming the node and the rule ---

TEST(OnnxErrors, TruncatedAndGarbageBytes) {
  Builder b("t", Shape{3, 16, 16}, 7);
  Graph g = finish(b, b.dense(b.flatten(b.conv(b.input(), 8, 3, 1, 1)), 10));
  std::string bytes = oi::to_onnx_bytes(g);
  expect_error(oi::parse_onnx(bytes.substr(0, bytes.size() / 2), "m.onnx"),
               {"onnx 'm.onnx': not a valid ONNX ModelProto (truncated or corrupt)"});
  const uint32_t seed = 20240611;
  std::mt19937 rng(seed);
  std::string garbage(4096, '\0');
  for (char& ch : garbage) ch = char(rng());
  expect_error(oi::parse_onnx(garbage, "garbage.onnx"), {"onnx 'garbage.onnx': "});
  // Random truncations and byte flips: an error or a valid graph, never a crash.
  for (int it = 0; it < 300; ++it) {
    SCOPED_TRACE(fmt::format("seed {} iteration {}", seed, it));
    std::string s = bytes;
    if (it % 2) s.resize(rng() % s.size());
    for (int k = 0; k < 1 + it % 4; ++k) s[rng() % s.size()] = char(rng());
    Result<Graph> r = oi::parse_onnx(s, "fuzz.onnx");
    if (!r.ok()) {
      EXPECT_EQ(r.error().rfind("onnx 'fuzz.onnx': ", 0), 0u) << r.error();
    }
  }
}

TEST(OnnxErrors, UnknownOp) {
  Model m;
  m.input("x", {"1", "3", "8", "8"});
  m.node("GridSample", {"x", "x"}, "y", "foo");
  m.output("y");
  expect_error(m.import(), {"onnx 'm.onnx': node 'foo' (GridSample): unsupported op"});
  m.g->mutable_node(0)->set_name("");  // unnamed: called after its output
  expect_error(m.import(), {"node 'y' (GridSample): unsupported op"});
}

TEST(OnnxErrors, SymbolicSpatialDim) {
  Model m;
  m.input("x", {"batch", "3", "height", "8"});
  m.node("Relu", {"x"}, "y", "relu");
  m.output("y");
  expect_error(
      m.import(),
      {"onnx 'm.onnx': input 'x': dimension 2 is symbolic ('height'): shapes must be static"});
}

TEST(OnnxErrors, ConvWeights) {
  Model m;
  m.input("x", {"1", "3", "8", "8"});
  m.init("W", {4, 3, 3, 3}, ramp(10, 1.f));  // 10 values for 108
  m.node("Conv", {"x", "W"}, "y", "conv");
  m.output("y");
  expect_error(m.import(),
               {"node 'conv' (Conv)", "tensor 'W'", "float_data has 10 values: needs 108"});

  m.g->mutable_initializer(0)->clear_float_data();
  m.g->mutable_initializer(0)->set_raw_data(std::string(107, '\0'));
  expect_error(m.import(), {"node 'conv' (Conv)", "raw_data has 107 bytes: needs 432"});

  m.g->mutable_initializer(0)->set_data_type(onnx::TensorProto::FLOAT16);
  expect_error(m.import(), {"node 'conv' (Conv)", "data type FLOAT16"});

  m.g->mutable_initializer(0)->set_data_type(onnx::TensorProto::FLOAT);
  m.g->mutable_initializer(0)->set_dims(1, -3);
  expect_error(m.import(), {"node 'conv' (Conv)", "negative dimension"});

  Model wide;
  wide.input("x", {"1", "3", "8", "8"});
  wide.init("W", {4, 2, 3, 3}, ramp(72, 1.f));
  wide.node("Conv", {"x", "W"}, "y", "conv");
  wide.output("y");
  expect_error(wide.import(), {"node 'conv' (Conv)", "needs 2 input channels", "has 3"});

  wide.g->mutable_node(0)->set_input(1, "nope");
  expect_error(wide.import(), {"node 'conv' (Conv)", "input 'nope' is not a graph input"});
}

TEST(OnnxErrors, ConvAttributes) {
  Model m;
  m.input("x", {"1", "3", "8", "8"});
  m.init("W", {4, 3, 3, 3}, ramp(108, 1.f));
  set_ints(m.node("Conv", {"x", "W"}, "y", "Conv_3"), "strides", {1, 1, 1});
  m.output("y");
  expect_error(m.import(),
               {"onnx 'm.onnx': node 'Conv_3' (Conv): attribute strides has 3 values: needs 2"});
  m.g->mutable_node(0)->mutable_attribute(0)->set_type(onnx::AttributeProto::FLOAT);
  expect_error(m.import(), {"node 'Conv_3' (Conv): attribute strides has type FLOAT: needs INTS"});
}

TEST(OnnxErrors, ReshapeTo4D) {
  Model m;
  m.input("x", {"1", "3", "8", "8"});
  m.init_i("shape", {4}, {1, 3, 2, 32});
  m.node("Reshape", {"x", "shape"}, "y", "r");
  m.output("y");
  expect_error(m.import(), {"node 'r' (Reshape)", "[1,3,2,32]", "only a flatten to [1,-1]"});
}

TEST(OnnxErrors, EmptyGraphAndBadModels) {
  Model m;
  m.input("x", {"1", "3", "8", "8"});
  m.output("x");
  expect_error(m.import(), {"onnx 'm.onnx': graph has no nodes"});

  Model none;
  none.m.clear_graph();
  expect_error(none.import(), {"model has no graph"});

  Model two;
  two.input("x", {"1", "3", "8", "8"});
  two.input("z", {"1", "3", "8", "8"});
  two.node("Add", {"x", "z"}, "y", "add");
  two.output("y");
  expect_error(two.import(), {"graph has 2 inputs ('x', 'z'): needs exactly one"});

  Model batch;
  batch.input("x", {"4", "3", "8", "8"});
  batch.node("Relu", {"x"}, "y", "relu");
  batch.output("y");
  expect_error(batch.import(), {"input 'x': batch 4: only batch 1 is supported"});
}

TEST(OnnxErrors, UnsupportedRules) {
  Model m;
  m.input("x", {"1", "3", "8", "8"});
  m.init_i("pads", {8}, {0, 1, 0, 0, 0, 0, 0, 0});
  m.node("Pad", {"x", "pads"}, "p", "pad");
  m.output("p");
  expect_error(m.import(), {"node 'pad' (Pad)", "only H and W may be padded"});

  Model add;
  add.input("x", {"1", "3", "8", "8"});
  add.init("k", {3}, {1.f, 2.f, 3.f});  // ONNX broadcasts [3] along W, not C
  add.node("Add", {"x", "k"}, "y", "add");
  add.output("y");
  expect_error(add.import(), {"node 'add' (Add)", "does not broadcast per channel"});

  Model rs;
  rs.input("x", {"1", "3", "8", "8"});
  rs.init("scales", {4}, {1.f, 1.f, 2.f, 2.f});
  set_str(rs.node("Resize", {"x", "", "scales"}, "y", "up"), "mode", "linear");
  rs.output("y");
  expect_error(rs.import(), {"node 'up' (Resize)", "mode 'linear': only nearest"});
}
