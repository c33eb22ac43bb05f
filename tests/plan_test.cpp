// Plan: validation rules, the memory estimate and JSON. Property tests draw
// random valid plans over small zoo models (seeded; the seed is printed on
// failure), check that they validate and round-trip through JSON exactly, and
// that corrupted copies fail with the right message.
#include "plan/plan.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <random>

#include "zoo/zoo.h"

using namespace coinfer;
using plan::Assignment;
using plan::Plan;
using plan::Stage;

namespace {

struct Model {
  graph::Graph g;
  std::vector<graph::Block> blocks;
  const Shape& out(int last_block) const {
    return g.nodes[size_t(blocks[size_t(last_block - 1)].last)].out;
  }
  int nb() const { return int(blocks.size()); }
};

const Model& model(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Model>> cache;
  auto& m = cache[name];
  if (!m) {
    auto g = zoo::build(name, 3);
    EXPECT_TRUE(g.ok()) << g.error();
    m = std::make_unique<Model>();
    m->g = std::move(g).value();
    m->blocks = graph::find_blocks(m->g);
  }
  return *m;
}

const std::vector<std::string> kModels = {"resnet18", "yolov2_tiny", "mobilenet_v2"};

// Built in code, independent of cluster::parse.
cluster::ClusterSpec make_cluster(int n, double memory_bytes = 0) {
  cluster::ClusterSpec c;
  c.name = "test";
  for (int i = 0; i < n; ++i) {
    cluster::Device d;
    d.name = fmt::format("d{}", i);
    d.memory_bytes = memory_bytes;
    c.devices.push_back(d);
  }
  return c;
}

std::string lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "\n  " + x;
  return s.empty() ? " (none)" : s;
}

bool whole_only(const Model& m, int a, int b) {
  for (int k = a; k < b; ++k)
    if (!m.blocks[size_t(k)].partitionable) return true;
  return false;
}

int rand_in(std::mt19937& rng, int lo, int hi) {  // [lo, hi]
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// Distinct sorted cut points: 0 = c[0] < ... < c[k] = n, k pieces.
std::vector<int> random_cuts(std::mt19937& rng, int n, int k) {
  std::vector<int> inner;
  for (int i = 1; i < n; ++i) inner.push_back(i);
  std::shuffle(inner.begin(), inner.end(), rng);
  inner.resize(size_t(k - 1));
  std::sort(inner.begin(), inner.end());
  std::vector<int> c = {0};
  c.insert(c.end(), inner.begin(), inner.end());
  c.push_back(n);
  return c;
}

// A random valid plan: random stage boundaries, random row splits among random
// device subsets, sometimes a band split in two column tiles; stages with a
// non-partitionable block run whole on one device.
Plan random_plan(const Model& m, const cluster::ClusterSpec& c, std::mt19937& rng) {
  Plan p;
  p.model = rng() % 4 == 0 ? "" : m.g.name;
  p.strategy = "random";
  std::vector<int> bounds = random_cuts(rng, m.nb(), rand_in(rng, 1, std::min(m.nb(), 5)));
  const int nd = int(c.devices.size());
  for (size_t i = 0; i + 1 < bounds.size(); ++i) {
    Stage s{bounds[i], bounds[i + 1], {}};
    std::vector<int> devs(static_cast<size_t>(nd));
    for (int d = 0; d < nd; ++d) devs[size_t(d)] = d;
    std::shuffle(devs.begin(), devs.end(), rng);
    const Shape& o = m.out(s.last_block);
    if (whole_only(m, s.first_block, s.last_block)) {
      s.parts.push_back({c.devices[size_t(devs[0])].name, {0, o.h}, {0, 0}});
    } else {
      int bands = rand_in(rng, 1, std::min(o.h, nd));
      std::vector<int> rows = random_cuts(rng, o.h, bands);
      size_t next = 0;
      for (int b = 0; b < bands; ++b) {
        Rows r{rows[size_t(b)], rows[size_t(b) + 1]};
        size_t left = size_t(bands - b - 1);  // devices the later bands need
        if (o.w >= 2 && next + 2 + left <= size_t(nd) && rng() % 4 == 0) {
          int cut = rand_in(rng, 1, o.w - 1);
          s.parts.push_back({c.devices[size_t(devs[next++])].name, r, {0, cut}});
          s.parts.push_back({c.devices[size_t(devs[next++])].name, r, {cut, o.w}});
        } else {
          Rows cols = rng() % 8 == 0 ? Rows{0, o.w} : Rows{0, 0};
          s.parts.push_back({c.devices[size_t(devs[next++])].name, r, cols});
        }
      }
      std::shuffle(s.parts.begin(), s.parts.end(), rng);
    }
    p.stages.push_back(std::move(s));
  }
  return p;
}

std::string mb(double bytes) {
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

}  // namespace

TEST(PlanProperty, RandomPlansValidateAndRoundTrip) {
  for (const std::string& name : kModels) {
    const Model& m = model(name);
    auto c = make_cluster(6);
    for (uint32_t seed = 1; seed <= 150; ++seed) {
      std::mt19937 rng{seed};
      Plan p = random_plan(m, c, rng);
      SCOPED_TRACE(fmt::format("{} seed {}", name, seed));
      auto errs = plan::validate(p, m.g, m.blocks, c);
      ASSERT_TRUE(errs.empty()) << "valid plan rejected:" << lines(errs) << "\n"
                                << plan::to_json(p);
      std::string text = plan::to_json(p);
      auto back = plan::parse(text, "p.json");
      ASSERT_TRUE(back.ok()) << back.error() << "\n" << text;
      ASSERT_TRUE(*back == p) << text;
      ASSERT_EQ(text, plan::to_json(*back));
    }
  }
}

TEST(PlanProperty, CorruptionsAreReported) {
  std::map<std::string, int> applied;
  for (const std::string& name : kModels) {
    const Model& m = model(name);
    auto c = make_cluster(6);
    for (uint32_t seed = 1; seed <= 150; ++seed) {
      std::mt19937 rng{seed};
      const Plan p = random_plan(m, c, rng);
      auto check = [&](const char* kind, const Plan& q, const cluster::ClusterSpec& cq,
                       const std::string& expect, bool only) {
        applied[kind]++;
        auto errs = plan::validate(q, m.g, m.blocks, cq);
        bool found = false;
        for (const auto& e : errs) found = found || e.find(expect) != std::string::npos;
        EXPECT_TRUE(found && (!only || errs.size() == 1))
            << name << " seed " << seed << " corruption '" << kind << "': expected \"" << expect
            << "\"" << (only ? " alone" : "") << ", got:" << lines(errs) << "\n"
            << plan::to_json(q);
      };
      const int si = rand_in(rng, 0, int(p.stages.size()) - 1);
      const Stage& st = p.stages[size_t(si)];
      const Shape& o = m.out(st.last_block);
      const int pj = rand_in(rng, 0, int(st.parts.size()) - 1);
      const Assignment& a = st.parts[size_t(pj)];

      if (st.parts.size() >= 2) {  // remove a part: its region becomes a gap
        Plan q = p;
        q.stages[size_t(si)].parts.erase(q.stages[size_t(si)].parts.begin() + pj);
        std::string region = fmt::format("rows [{},{})", a.rows.lo, a.rows.hi);
        if (!a.all_cols() && !(a.cols == Rows{0, o.w}))
          region += fmt::format(" cols [{},{})", a.cols.lo, a.cols.hi);
        check("remove part", q, c, fmt::format("stage {}: gap: {} of the output", si, region),
              true);
      }
      if (a.rows.hi < o.h) {  // stretch a part's rows into the next band
        Plan q = p;
        q.stages[size_t(si)].parts[size_t(pj)].rows.hi += 1;
        check("stretch rows", q, c,
              fmt::format("overlap in rows [{},{})", a.rows.hi, a.rows.hi + 1), false);
        for (const auto& e : plan::validate(q, m.g, m.blocks, c))
          EXPECT_NE(e.find("overlap"), std::string::npos) << name << " seed " << seed << ": " << e;
      }
      {  // rename a device
        Plan q = p;
        q.stages[size_t(si)].parts[size_t(pj)].device = "ghost";
        check("rename device", q, c,
              fmt::format("stage {} part {} (device 'ghost'): unknown device", si, pj), true);
      }
      {  // shrink a device's memory just below its need; exactly its need passes
        plan::MemoryUse need;
        for (const Stage& s : p.stages)
          for (const Assignment& x : s.parts)
            if (x.device == a.device) {
              plan::MemoryUse u = plan::memory_use(m.g, m.blocks, s, x);
              need.weights += u.weights;
              need.buffers += u.buffers;
            }
        auto cq = c;
        auto& dev = cq.devices[size_t(std::stoi(a.device.substr(1)))];
        dev.memory_bytes = need.total() * (1 + 1e-9);
        EXPECT_TRUE(plan::validate(p, m.g, m.blocks, cq).empty()) << name << " seed " << seed;
        dev.memory_bytes = need.total() * 0.99;
        check(
            "shrink memory", p, cq,
            fmt::format("device '{}' needs {} (weights {} + buffers {}) but has {}", a.device,
                        mb(need.total()), mb(need.weights), mb(need.buffers), mb(dev.memory_bytes)),
            true);
      }
      if (si > 0) {  // shift a stage boundary up (gap) or down (overlap)
        Plan q = p;
        Stage& s = q.stages[size_t(si)];
        int f = s.first_block;
        if (rng() % 2 == 0 && f + 1 < s.last_block &&
            whole_only(m, f + 1, s.last_block) == whole_only(m, f, s.last_block)) {
          s.first_block = f + 1;
          check("shift boundary (gap)", q, c,
                fmt::format(
                    "stage {}: blocks [{},{}): gap after stage {}: blocks [{},{}) are not run", si,
                    f + 1, s.last_block, si - 1, f, f + 1),
                true);
        } else if (m.blocks[size_t(f - 1)].partitionable) {
          s.first_block = f - 1;
          check("shift boundary (overlap)", q, c,
                fmt::format(
                    "stage {}: blocks [{},{}): overlaps stage {}: blocks [{},{}) would run twice",
                    si, f - 1, s.last_block, si - 1, f - 1, f),
                true);
        }
      }
      for (size_t k = 0; k < p.stages.size(); ++k) {  // split a non-partitionable stage
        const Stage& s = p.stages[k];
        if (!whole_only(m, s.first_block, s.last_block)) continue;
        Plan q = p;
        std::string other = s.parts[0].device == "d0" ? "d1" : "d0";
        q.stages[k].parts.push_back({other, s.parts[0].rows, {0, 0}});
        check("split non-partitionable", q, c,
              fmt::format("stage {}: blocks [{},{}) are not row-partitionable (global pooling/FC): "
                          "must run whole on one device",
                          k, m.nb() - 1, m.nb()),
              true);
      }
    }
  }
  for (const char* kind :
       {"remove part", "stretch rows", "rename device", "shrink memory", "shift boundary (gap)",
        "shift boundary (overlap)", "split non-partitionable"})
    EXPECT_GT(applied[kind], 10) << "corruption '" << kind << "' was rarely applied";
}

TEST(PlanValidate, SingleDevicePlan) {
  for (const std::string& name : kModels) {
    const Model& m = model(name);
    Plan p = plan::single_device_plan(m.g, m.blocks, "d0");
    ASSERT_EQ(p.stages.size(), 1u);
    EXPECT_EQ(p.stages[0].last_block, m.nb());
    EXPECT_TRUE(plan::validate(p, m.g, m.blocks, make_cluster(1)).empty()) << name;
    plan::MemoryUse u = plan::memory_use(m.g, m.blocks, p.stages[0], p.stages[0].parts[0]);
    EXPECT_EQ(u.weights, 4.0 * double(m.g.params())) << name;
    EXPECT_GT(u.buffers, 0) << name;
    EXPECT_EQ(plan::memory_bytes(m.g, m.blocks, p.stages[0], p.stages[0].parts[0]), u.total());
  }
}

TEST(PlanValidate, MemoryEstimateShrinksWithTheBand) {
  const Model& m = model("resnet18");
  Stage s{0, 3, {}};
  const Shape& o = m.out(3);
  Assignment whole{"d0", {0, o.h}, {0, 0}}, half{"d0", {0, o.h / 2}, {0, 0}};
  Assignment left{"d0", {0, o.h}, {0, o.w / 2}};
  auto uw = plan::memory_use(m.g, m.blocks, s, whole);
  auto uh = plan::memory_use(m.g, m.blocks, s, half);
  auto ul = plan::memory_use(m.g, m.blocks, s, left);
  EXPECT_EQ(uw.weights, uh.weights);
  EXPECT_LT(uh.buffers, uw.buffers);
  EXPECT_GT(uh.buffers, 0.5 * uw.buffers);  // the halo costs extra rows
  EXPECT_DOUBLE_EQ(ul.buffers, uw.buffers * (o.w / 2) / o.w);
}

TEST(PlanValidate, EveryViolationIsReported) {
  const Model& m = model("resnet18");
  const int nb = m.nb();
  const Shape& o = m.out(nb - 1);
  Plan p;
  p.model = "vgg16";
  p.stages.push_back({0, nb - 1, {{"d0", {0, 3}, {0, 0}}, {"pi9", {2, o.h}, {0, 0}}}});
  p.stages.push_back({nb - 1, nb, {{"d1", {0, 1}, {0, 0}}, {"d1", {0, 1}, {0, 0}}}});
  auto errs = plan::validate(p, m.g, m.blocks, make_cluster(2));
  std::vector<std::string> want = {
      "plan is for model 'vgg16' but the model is 'resnet18'",
      "stage 0 part 1 (device 'pi9'): unknown device",
      "stage 0: parts 0 (device 'd0') and 1 (device 'pi9') overlap in rows [2,3)",
      "stage 1: device 'd1' is used by parts 0 and 1",
      fmt::format("stage 1: blocks [{},{}) are not row-partitionable", nb - 1, nb)};
  EXPECT_EQ(errs.size(), want.size()) << lines(errs);
  for (const auto& w : want) {
    bool found = false;
    for (const auto& e : errs) found = found || e.find(w) != std::string::npos;
    EXPECT_TRUE(found) << "missing \"" << w << "\" in:" << lines(errs);
  }
}

TEST(PlanValidate, StructuralRules) {
  const Model& m = model("resnet18");
  const int nb = m.nb();
  auto c = make_cluster(3);
  auto errors_of = [&](const Plan& p) { return lines(plan::validate(p, m.g, m.blocks, c)); };
  auto whole = [&](int a, int b) { return Stage{a, b, {{"d0", {0, m.out(b).h}, {0, 0}}}}; };
  Plan p;
  EXPECT_NE(errors_of(p).find("plan has no stages"), std::string::npos);
  p.stages = {whole(0, 2), whole(2, nb)};
  p.model = "";
  EXPECT_EQ(errors_of(p), " (none)");
  p.stages = {whole(1, nb)};
  EXPECT_NE(errors_of(p).find("stage 0: blocks [1,"), std::string::npos);
  EXPECT_NE(errors_of(p).find("the first stage must start at block 0 (blocks [0,1) are not run)"),
            std::string::npos);
  p.stages = {whole(0, 2)};
  EXPECT_NE(errors_of(p).find(fmt::format("the last stage must end at block {} (blocks [2,{}) are "
                                          "not run)",
                                          nb, nb)),
            std::string::npos);
  p.stages = {whole(0, 2), Stage{2, 2, {{"d1", {0, 1}, {0, 0}}}}, whole(2, nb)};
  EXPECT_NE(errors_of(p).find("stage 1: blocks [2,2): empty block range"), std::string::npos);
  p.stages = {whole(0, nb), Stage{nb, nb + 1, {{"d1", {0, 1}, {0, 0}}}}};
  EXPECT_NE(errors_of(p).find(fmt::format("outside the model's blocks [0,{})", nb)),
            std::string::npos);
  p.stages = {whole(0, 2), Stage{2, nb, {}}};
  EXPECT_NE(errors_of(p).find("stage 1: no parts"), std::string::npos);
  // Regions out of bounds, and empty column ranges built in code.
  const Shape& o = m.out(2);
  p.stages = {whole(0, 2), whole(2, nb)};
  p.stages[0].parts[0].rows = {0, o.h + 4};
  std::string e = errors_of(p);
  EXPECT_NE(e.find(fmt::format("stage 0 part 0 (device 'd0'): rows [0,{}) outside the output rows "
                               "[0,{}) of block",
                               o.h + 4, o.h)),
            std::string::npos)
      << e;
  p.stages[0].parts[0] = {"d0", {0, o.h}, {0, o.w + 1}};
  e = errors_of(p);
  EXPECT_NE(e.find(fmt::format("cols [0,{}) outside the output columns [0,{})", o.w + 1, o.w)),
            std::string::npos)
      << e;
  p.stages[0].parts[0] = {"d0", {0, o.h}, {5, 3}};
  EXPECT_NE(errors_of(p).find("cols [5,3): empty (omit cols for all columns)"), std::string::npos);
  p.stages[0].parts[0] = {"d0", {4, 4}, {0, 0}};
  EXPECT_NE(errors_of(p).find("rows [4,4): empty"), std::string::npos);
  p.version = 2;
  p.stages = {whole(0, nb)};
  EXPECT_NE(errors_of(p).find("version 2: this build reads version 1"), std::string::npos);
}

TEST(PlanValidate, InterleavedPipelines) {
  const Model& m = model("resnet18");
  const int nb = m.nb();
  auto c = make_cluster(3);
  auto errors_of = [&](const Plan& p) { return lines(plan::validate(p, m.g, m.blocks, c)); };
  auto whole = [&](int a, int b, int pipe) {
    Stage s{a, b, {{"d" + std::to_string(pipe), {0, m.out(b).h}, {0, 0}}}};
    s.pipeline = pipe;
    return s;
  };
  Plan p;
  p.stages = {whole(0, 2, 0), whole(2, nb, 0), whole(0, 3, 1), whole(3, nb, 1), whole(0, nb, 2)};
  EXPECT_EQ(errors_of(p), " (none)");
  auto spans = plan::pipeline_spans(p);
  ASSERT_TRUE(spans.ok()) << spans.error();
  EXPECT_EQ(*spans, (std::vector<Rows>{{0, 2}, {2, 4}, {4, 5}}));
  EXPECT_EQ(plan::depth(p), 2);
  EXPECT_EQ(plan::default_in_flight(p), 2 + 3);  // one waiting frame per pipeline
  Plan one = p;
  one.stages.resize(2);  // pipeline 0 alone: stages + 1
  EXPECT_EQ(plan::default_in_flight(one), 3);
  // Each pipeline must chain from block 0 to the last block on its own.
  p.stages = {whole(0, 2, 0), whole(2, nb, 0), whole(0, 3, 1)};
  EXPECT_NE(errors_of(p).find(fmt::format("pipeline 1 stage 2: blocks [0,3): the last stage must "
                                          "end at block {}",
                                          nb)),
            std::string::npos)
      << errors_of(p);
  p.stages = {whole(0, 2, 0), whole(2, nb, 0), whole(1, nb, 1)};
  EXPECT_NE(errors_of(p).find("pipeline 1 stage 2: blocks [1,"), std::string::npos);
  EXPECT_NE(errors_of(p).find("the first stage must start at block 0"), std::string::npos);
  // Numbered 0, 1, ... in contiguous groups.
  for (std::vector<int> nums : {std::vector<int>{1, 1}, {0, 2}, {0, 1, 0}}) {
    p.stages.clear();
    for (int k : nums) p.stages.push_back(whole(0, nb, k));
    std::string e = errors_of(p);
    EXPECT_NE(e.find("pipelines must be numbered 0, 1, ... with each one's stages together"),
              std::string::npos)
        << e;
    EXPECT_FALSE(plan::pipeline_spans(p).ok());
    EXPECT_EQ(plan::depth(p), int(nums.size()));
    EXPECT_EQ(plan::default_in_flight(p), int(nums.size()) + 1);
  }
  // Memory: a part repeated in another pipeline counts once (one executor).
  p.stages = {whole(0, 2, 0), whole(2, nb, 0), whole(0, 2, 1), whole(2, nb, 1)};
  p.stages[2].parts[0].device = "d0";
  double once = 0;  // d0 runs both stages of pipeline 0
  for (int i : {0, 1})
    once +=
        plan::memory_use(m.g, m.blocks, p.stages[size_t(i)], p.stages[size_t(i)].parts[0]).total();
  EXPECT_DOUBLE_EQ(plan::device_memory_use(m.g, m.blocks, p, "d0").total(), once);
  p.stages[2].last_block = 3;
  p.stages[2].parts[0].rows = {0, m.out(3).h};
  p.stages[3].first_block = 3;
  EXPECT_GT(plan::device_memory_use(m.g, m.blocks, p, "d0").total(), once);
  // JSON: "pipeline" is written on every stage of an interleaved plan only.
  p.stages = {whole(0, 2, 0), whole(2, nb, 0), whole(0, nb, 1)};
  const std::string text = plan::to_json(p);
  EXPECT_NE(text.find(R"({"pipeline": 0, "blocks": [0, 2])"), std::string::npos) << text;
  EXPECT_NE(text.find(R"({"pipeline": 1, "blocks": [0, )"), std::string::npos) << text;
  auto q = plan::parse(text, "p.json");
  ASSERT_TRUE(q.ok()) << q.error();
  EXPECT_TRUE(*q == p);
  p.stages = {whole(0, nb, 0)};
  EXPECT_EQ(plan::to_json(p).find("pipeline"), std::string::npos);
}

TEST(PlanValidate, GridGapsAndOverlaps) {
  const Model& m = model("resnet18");
  auto c = make_cluster(4);
  const Shape& o = m.out(2);
  int h = o.h, w = o.w, hh = h / 2, hw = w / 2;
  Plan p;
  p.stages = {{0, 2, {{"d0", {0, hh}, {0, hw}}, {"d1", {hh, h}, {0, 0}}}},
              plan::single_device_plan(m.g, m.blocks, "d3").stages[0]};
  p.stages[1].first_block = 2;
  auto errs = plan::validate(p, m.g, m.blocks, c);
  ASSERT_EQ(errs.size(), 1u) << lines(errs);
  EXPECT_NE(
      errs[0].find(fmt::format("stage 0: gap: rows [0,{}) cols [{},{}) of the output", hh, hw, w)),
      std::string::npos)
      << errs[0];
  p.stages[0].parts.push_back({"d2", {0, hh + 1}, {hw - 1, w}});
  errs = plan::validate(p, m.g, m.blocks, c);
  ASSERT_EQ(errs.size(), 2u) << lines(errs);
  EXPECT_NE(errs[0].find(fmt::format("parts 0 (device 'd0') and 2 (device 'd2') overlap in rows "
                                     "[0,{}) cols [{},{})",
                                     hh, hw - 1, hw)),
            std::string::npos)
      << errs[0];
  EXPECT_NE(errs[1].find(fmt::format("parts 1 (device 'd1') and 2 (device 'd2') overlap in rows "
                                     "[{},{}) cols [{},{})",
                                     hh, hh + 1, hw - 1, w)),
            std::string::npos)
      << errs[1];
}

TEST(PlanJson, WritesTheDocumentedSchema) {
  Plan p;
  p.model = "vgg16";
  p.strategy = "pico";
  p.stages = {{0, 12, {{"pi1", {0, 28}, {0, 0}}, {"pi2", {28, 56}, {0, 56}}}}};
  EXPECT_EQ(plan::to_json(p),
            "{\n  \"version\": 1,\n  \"model\": \"vgg16\",\n  \"strategy\": \"pico\",\n"
            "  \"stages\": [\n    {\"blocks\": [0, 12], \"parts\": [\n"
            "      {\"device\": \"pi1\", \"rows\": [0, 28]},\n"
            "      {\"device\": \"pi2\", \"rows\": [28, 56], \"cols\": [0, 56]}\n    ]}\n  ]\n}\n");
  auto q = plan::parse(
      R"({"version":1,"model":"vgg16","strategy":"pico","stages":[{"blocks":[0,12],"parts":[)"
      R"({"device":"pi1","rows":[0,28]},{"device":"pi2","rows":[28,56],"cols":[0,56]}]}]})",
      "p.json");
  ASSERT_TRUE(q.ok()) << q.error();
  EXPECT_TRUE(*q == p);
}

TEST(PlanJson, MalformedTextsNameTheField) {
  const std::string ok_part = R"({"device":"a","rows":[0,4]})";
  auto doc = [&](const std::string& stages) {
    return R"({"version":1,"model":"m","stages":)" + stages + "}";
  };
  auto stage = [&](const std::string& parts) {
    return R"({"blocks":[0,2],"parts":[)" + parts + "]}";
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "invalid JSON: parse error"},
      {"{\"version\":1,", "invalid JSON: parse error"},
      {doc("[]") + " x", "invalid JSON: parse error"},
      {"[1]", "must be a JSON object, got array [1]"},
      {R"({"stages":[]})", "version: missing (this build reads version 1)"},
      {R"({"version":2,"stages":[],"new_key":1})",
       "plan 'p.json': version 2: this build reads version 1"},
      {R"({"version":"1","stages":[]})", R"(version: must be an integer, got string "1")"},
      {R"({"version":1.0,"stages":[]})", "version: must be an integer, got number 1.0"},
      {R"({"version":1,"modle":"x","stages":[]})",
       "modle: unknown key (expected version, model, strategy, stages)"},
      {R"({"version":1,"model":5,"stages":[]})", "model: must be a string, got number 5"},
      {R"({"version":1})", "plan 'p.json': stages: missing"},
      {doc("{}"), "stages: must be an array, got object {}"},
      {doc("[3]"), "stages[0]: must be an object, got number 3"},
      {doc(R"([{"parts":[]}])"), "stages[0].blocks: missing"},
      {doc(R"([{"blocks":[0,2]}])"), "stages[0].parts: missing"},
      {doc(R"([{"blocks":[0,2],"parts":{}}])"), "stages[0].parts: must be an array, got object"},
      {doc(R"([{"blocks":[3,3],"parts":[]}])"),
       "stages[0].blocks=[3,3]: must be [first, last) with first < last"},
      {doc(R"([{"blocks":[0],"parts":[]}])"),
       "stages[0].blocks: must be [first, last] (two integers), got array [0]"},
      {doc(R"([{"blocks":[0,1.5],"parts":[]}])"),
       "stages[0].blocks[1]: must be an integer, got number 1.5"},
      {doc(R"([{"blocks":[0,2],"parts":[],"part":[]}])"),
       "stages[0].part: unknown key (expected blocks, parts, pipeline)"},
      {doc(R"([{"blocks":[0,2],"parts":[],"pipeline":-1}])"),
       "stages[0].pipeline=-1: must be >= 0"},
      {doc(R"([{"blocks":[0,2],"parts":[],"pipeline":"1"}])"),
       R"(stages[0].pipeline: must be an integer, got string "1")"},
      {doc("[" + stage(ok_part) + "," + stage(R"({"device":"b","rows":[5,3]})") + "]"),
       "plan 'p.json': stages[1].parts[0].rows=[5,3]: must be [lo, hi) with lo < hi"},
      {doc("[" + stage(R"({"device":"b","rows":[-1,3]})") + "]"),
       "stages[0].parts[0].rows=[-1,3]: lo must be >= 0"},
      {doc("[" + stage(ok_part + R"(,{"device":"b","row":[0,4]})") + "]"),
       "stages[0].parts[1].row: unknown key (expected device, rows, cols)"},
      {doc("[" + stage(R"({"device":"","rows":[0,4]})") + "]"),
       R"(stages[0].parts[0].device: must be a non-empty string, got string "")"},
      {doc("[" + stage(R"({"device":3,"rows":[0,4]})") + "]"),
       "stages[0].parts[0].device: must be a non-empty string, got number 3"},
      {doc("[" + stage(R"({"rows":[0,4]})") + "]"), "stages[0].parts[0].device: missing"},
      {doc("[" + stage(R"({"device":"a","rows":[0,4],"cols":[0,99999999999]})") + "]"),
       "stages[0].parts[0].cols[1]=99999999999: out of the 32-bit integer range"},
      {doc("[" + stage(R"({"device":"a","rows":[0,4],"cols":null})") + "]"),
       "stages[0].parts[0].cols: must be [lo, hi] (two integers), got null null"},
      {doc("[" + stage(R"({"device":"a","rows":[0,4],"rows":[0,5]})") + "]"),
       R"(duplicate key "rows")"},
      {doc("[" + stage(R"({"device":"a","rows":[0,4],"a\nb":1})") + "]"),
       R"(stages[0].parts[0]."a\nb": unknown key)"},
  };
  for (const auto& [text, want] : cases) {
    auto r = plan::parse(text, "p.json");
    ASSERT_FALSE(r.ok()) << "accepted: " << text;
    EXPECT_NE(r.error().find(want), std::string::npos)
        << "text: " << text << "\nerror: " << r.error() << "\nwant: " << want;
    EXPECT_EQ(r.error().rfind("plan 'p.json': ", 0), 0u) << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
  }
}

TEST(PlanJson, MutatedTextsNeverCrash) {
  const uint32_t seed = 77;
  std::mt19937 rng{seed};
  const Model& m = model("yolov2_tiny");
  auto c = make_cluster(5);
  const std::string alphabet = "{}[],:\"0123456789-.e truefalsnul\\x";
  int rejected = 0;
  for (int t = 0; t < 3000; ++t) {
    std::string text = plan::to_json(random_plan(m, c, rng));
    int edits = rand_in(rng, 1, 4);
    for (int k = 0; k < edits && !text.empty(); ++k) {
      size_t at = size_t(rand_in(rng, 0, int(text.size()) - 1));
      switch (rng() % 3) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(at, size_t(rand_in(rng, 1, 8)));
          break;
        default:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
      }
    }
    auto r = plan::parse(text, "p.json");
    if (r.ok()) {
      plan::validate(*r, m.g, m.blocks, c);  // must not crash on any parsed plan
      continue;
    }
    ++rejected;
    ASSERT_EQ(r.error().rfind("plan 'p.json': ", 0), 0u) << "seed " << seed << ": " << r.error();
    ASSERT_EQ(r.error().find('\n'), std::string::npos) << "seed " << seed << ": " << r.error();
  }
  EXPECT_GT(rejected, 1000);
}

TEST(PlanJson, LoadsFiles) {
  const Model& m = model("mobilenet_v2");
  Plan p = plan::single_device_plan(m.g, m.blocks, "d0");
  std::string path = testing::TempDir() + "/plan_test_single.json";
  std::ofstream(path) << plan::to_json(p);
  auto r = plan::load(path);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_TRUE(*r == p);
  auto missing = plan::load("/nonexistent/p.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().rfind("plan '/nonexistent/p.json': cannot open", 0), 0u)
      << missing.error();
}
