#include "zoo/zoo.h"

#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "graph/blocks.h"

using namespace coinfer;
using namespace coinfer::graph;

namespace {

// Reference numbers, computed outside this repo:
//  - params: torchvision 0.14 models, summing conv and linear weights plus a
//    bias of out_channels per conv (a folded BatchNorm, or the conv's own
//    bias); Darknet cfgs summed by hand the same way.
//  - gflops: 2 x multiply-adds of the convs and linears (forward hooks on the
//    torchvision models; by hand for YOLO).
struct Reference {
  const char* name;
  Shape input, output;
  int64_t params;
  double gflops;
  const char* probe;  // an intermediate node and its expected shape
  Shape probe_shape;
};

const Reference kRefs[] = {
    {"vgg16", {3, 224, 224}, {1000, 1, 1, 2}, 138357544, 30.9405, "features.30", {512, 7, 7}},
    {"resnet18", {3, 224, 224}, {1000, 1, 1, 2}, 11684712, 3.6281, "layer4.1", {512, 7, 7}},
    {"resnet34", {3, 224, 224}, {1000, 1, 1, 2}, 21789160, 7.3275, "layer3.5", {256, 14, 14}},
    {"resnet50", {3, 224, 224}, {1000, 1, 1, 2}, 25530472, 8.1784, "layer4.2", {2048, 7, 7}},
    {"mobilenet_v2",
     {3, 224, 224},
     {1000, 1, 1, 2},
     3487816,
     0.6015,
     "features.18.0",
     {1280, 7, 7}},
    {"alexnet", {3, 224, 224}, {1000, 1, 1, 2}, 61100840, 1.4284, "features.12", {256, 6, 6}},
    {"googlenet", {3, 224, 224}, {1000, 1, 1, 2}, 6617624, 2.9968, "inception5b", {1024, 7, 7}},
    {"squeezenet1_0",
     {3, 224, 224},
     {1000, 1, 1, 2},
     1248424,
     1.6378,
     "features.12",
     {512, 13, 13}},
    {"yolov2", {3, 416, 416}, {425, 13, 13}, 50952553, 29.4642, "route28", {1280, 13, 13}},
    {"yolov2_tiny", {3, 416, 416}, {425, 13, 13}, 11229513, 5.4064, "max11", {512, 13, 13}},
};

bool is_yolo(const std::string& name) {
  return name.rfind("yolo", 0) == 0;
}

const Node* find_node(const Graph& g, const std::string& name) {
  for (const Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

double total_gflops(const Graph& g) {
  double f = 0;
  for (const Node& n : g.nodes) f += node_cost(g, n, Rows{0, n.out.h}).flops;
  return f / 1e9;
}

class ZooModel : public ::testing::TestWithParam<Reference> {};

TEST_P(ZooModel, MatchesReference) {
  const Reference& ref = GetParam();
  Result<Graph> g = zoo::build(ref.name);
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_EQ(g->name, ref.name);
  EXPECT_EQ(g->input_shape(), ref.input);
  EXPECT_EQ(g->output_shape(), ref.output);
  EXPECT_EQ(g->params(), ref.params);
  EXPECT_NEAR(total_gflops(*g), ref.gflops, 0.03 * ref.gflops);

  const Node* probe = find_node(*g, ref.probe);
  ASSERT_NE(probe, nullptr) << ref.probe;
  EXPECT_EQ(probe->out, ref.probe_shape) << ref.probe;

  std::set<std::string> names;
  for (const Node& n : g->nodes) {
    EXPECT_TRUE(names.insert(n.name).second) << "duplicate node name " << n.name;
    // Activations are all fused into their producers.
    EXPECT_NE(n.kind, OpKind::Unary) << n.name;
  }
}

TEST_P(ZooModel, BlocksFormAChain) {
  const Reference& ref = GetParam();
  Result<Graph> g = zoo::build(ref.name);
  ASSERT_TRUE(g.ok()) << g.error();
  std::vector<Block> blocks = find_blocks(*g);
  ASSERT_GE(blocks.size(), 2u);
  for (size_t k = 0; k < blocks.size(); ++k) {
    const Block& b = blocks[k];
    EXPECT_EQ(b.input, k == 0 ? 0 : blocks[k - 1].last) << b.name(*g);
    EXPECT_EQ(b.first, k == 0 ? 1 : blocks[k - 1].last + 1) << b.name(*g);
    // Classifiers end in a global-pool/FC tail that cannot be split by rows;
    // YOLO is fully convolutional down to its output.
    bool tail = k + 1 == blocks.size() && !is_yolo(ref.name);
    EXPECT_EQ(b.partitionable, !tail) << ref.name << " block " << k << " " << b.name(*g);
  }
  EXPECT_EQ(blocks.back().last, g->output);
}

INSTANTIATE_TEST_SUITE_P(Zoo, ZooModel, ::testing::ValuesIn(kRefs),
                         [](const ::testing::TestParamInfo<Reference>& p) {
                           return std::string(p.param.name);
                         });

std::vector<std::string> block_names(const Graph& g, const std::vector<Block>& blocks) {
  std::vector<std::string> names;
  for (const Block& b : blocks) names.push_back(b.name(g));
  return names;
}

TEST(Zoo, ResNet34HasABlockPerResidualUnit) {
  Result<Graph> g = zoo::build("resnet34");
  ASSERT_TRUE(g.ok()) << g.error();
  std::vector<std::string> expected = {"conv1", "maxpool"};
  const int units[] = {3, 4, 6, 3};
  for (int l = 0; l < 4; ++l)
    for (int u = 0; u < units[l]; ++u) expected.push_back(fmt::format("layer{}.{}", l + 1, u));
  expected.push_back("fc");
  EXPECT_EQ(block_names(*g, find_blocks(*g)), expected);
}

TEST(Zoo, GoogLeNetHasABlockPerInceptionModule) {
  Result<Graph> g = zoo::build("googlenet");
  ASSERT_TRUE(g.ok()) << g.error();
  std::vector<Block> blocks = find_blocks(*g);
  std::vector<std::string> expected = {
      "conv1",       "maxpool1", "conv2",       "conv3",       "maxpool2",    "inception3a",
      "inception3b", "maxpool3", "inception4a", "inception4b", "inception4c", "inception4d",
      "inception4e", "maxpool4", "inception5a", "inception5b", "fc"};
  EXPECT_EQ(block_names(*g, blocks), expected);
  for (const Block& b : blocks) {
    if (b.name(*g).rfind("inception", 0) != 0) continue;
    // The block holds exactly the module: 4 branches (7 nodes) + concat.
    EXPECT_EQ(b.last - b.first + 1, 8) << b.name(*g);
    EXPECT_EQ(g->nodes[size_t(b.first)].name, b.name(*g) + ".branch1");
  }
}

TEST(Zoo, ActivationsMatchTheReference) {
  Result<Graph> yolo = zoo::build("yolov2");
  ASSERT_TRUE(yolo.ok()) << yolo.error();
  for (const Node& n : yolo->nodes) {
    if (n.kind != OpKind::Conv) continue;
    if (int(&n - yolo->nodes.data()) == yolo->output) {
      EXPECT_EQ(n.act, Act::None) << "the region conv is linear";
    } else {
      EXPECT_EQ(n.act, Act::LeakyRelu) << n.name;
      EXPECT_FLOAT_EQ(n.alpha, 0.1f) << n.name;
    }
  }
  Result<Graph> mb = zoo::build("mobilenet_v2");
  ASSERT_TRUE(mb.ok()) << mb.error();
  const Node* dw = find_node(*mb, "features.2.conv.1.0");
  ASSERT_NE(dw, nullptr);
  EXPECT_EQ(dw->groups, 96);
  EXPECT_EQ(dw->act, Act::Clip);
  EXPECT_EQ(dw->act_min, 0.f);
  EXPECT_EQ(dw->act_max, 6.f);
  EXPECT_EQ(find_node(*mb, "features.2.conv.2")->act, Act::None);
}

TEST(Zoo, SeedDeterminesWeights) {
  Result<Graph> a = zoo::build("squeezenet1_0", 7);
  Result<Graph> b = zoo::build("squeezenet1_0", 7);
  Result<Graph> c = zoo::build("squeezenet1_0", 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_EQ(a->nodes.size(), c->nodes.size());
  bool any_differs = false;
  for (size_t i = 0; i < a->nodes.size(); ++i) {
    EXPECT_EQ(a->nodes[i].weight, b->nodes[i].weight) << a->nodes[i].name;
    EXPECT_EQ(a->nodes[i].bias, b->nodes[i].bias) << a->nodes[i].name;
    if (!a->nodes[i].weight.empty() && a->nodes[i].weight != c->nodes[i].weight) any_differs = true;
  }
  EXPECT_TRUE(any_differs) << "seeds 7 and 8 gave identical weights";
  EXPECT_NE(a->nodes[1].weight, c->nodes[1].weight);
}

TEST(Zoo, UnknownNameListsKnownModels) {
  Result<Graph> g = zoo::build("resnet101");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.error().find("resnet101"), std::string::npos) << g.error();
  for (const zoo::ZooEntry& e : zoo::list())
    EXPECT_NE(g.error().find(e.name), std::string::npos) << g.error();
}

TEST(Zoo, ListCoversEveryModel) {
  ASSERT_EQ(zoo::list().size(), std::size(kRefs));
  for (size_t i = 0; i < zoo::list().size(); ++i) {
    EXPECT_EQ(zoo::list()[i].name, kRefs[i].name);
    EXPECT_FALSE(zoo::list()[i].description.empty());
  }
}

TEST(Zoo, Vgg16BuildsFast) {
  auto t0 = std::chrono::steady_clock::now();
  Result<Graph> g = zoo::build("vgg16");
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_LT(s, 2.0);
}

}  // namespace
