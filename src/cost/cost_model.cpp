#include "cost/cost_model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "kernels/executor.h"

namespace coinfer::cost {

double BlockTable::at(double r) const {
  if (r <= 0 || rows.empty()) return 0;
  size_t n = rows.size();
  if (n == 1 || r <= rows[0]) return seconds[0] * r / rows[0];
  size_t k = 1;
  while (k + 1 < n && rows[k] < r) ++k;
  // Interpolate on segment [k-1, k]; beyond the last point, extend it.
  double r0 = rows[k - 1], r1 = rows[k];
  double t = (r - r0) / (r1 - r0);
  return std::max(0.0, seconds[k - 1] + t * (seconds[k] - seconds[k - 1]));
}

// --- Profile JSON ---

std::string to_json(const Profile& p) {
  nlohmann::json blocks = nlohmann::json::array();
  for (const BlockTable& b : p.blocks) blocks.push_back({{"rows", b.rows}, {"seconds", b.seconds}});
  nlohmann::json j = {{"version", p.version}, {"model", p.model},   {"host", p.host},
                      {"threads", p.threads}, {"whole_seconds", p.whole_seconds},
                      {"blocks", blocks}};
  if (p.version >= 2) {
    j["cut_seconds"] = p.cut_seconds;
    j["io_seconds_per_byte"] = p.io_seconds_per_byte;
  }
  return j.dump(1);
}

Result<Profile> parse_profile(const std::string& text, const std::string& what) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return errorf("profile '{}': not a valid JSON object", what);
  Profile p;
  try {
    p.version = j.at("version").get<int>();
    if (p.version != 1 && p.version != 2)
      return errorf("profile '{}': version {}: this build reads 1 and 2", what, p.version);
    p.model = j.at("model").get<std::string>();
    p.host = j.value("host", "");
    p.threads = j.value("threads", 1);
    p.whole_seconds = j.value("whole_seconds", 0.0);
    const auto& blocks = j.at("blocks");
    if (!blocks.is_array() || blocks.empty())
      return errorf("profile '{}': blocks: must be a non-empty array", what);
    for (size_t k = 0; k < blocks.size(); ++k) {
      BlockTable b;
      b.rows = blocks[k].at("rows").get<std::vector<int>>();
      b.seconds = blocks[k].at("seconds").get<std::vector<double>>();
      if (b.rows.empty() || b.rows.size() != b.seconds.size())
        return errorf("profile '{}': blocks[{}]: rows and seconds must be non-empty and equal length",
                      what, k);
      for (size_t i = 0; i < b.rows.size(); ++i) {
        if (b.rows[i] < 1 || (i > 0 && b.rows[i] <= b.rows[i - 1]))
          return errorf("profile '{}': blocks[{}].rows: must be ascending and >= 1", what, k);
        if (!(b.seconds[i] >= 0) || b.seconds[i] > 1e6)
          return errorf("profile '{}': blocks[{}].seconds[{}]={}: must be in [0, 1e6]", what, k, i,
                        b.seconds[i]);
      }
      p.blocks.push_back(std::move(b));
    }
    if (p.version >= 2) {
      const auto& cuts = j.value("cut_seconds", nlohmann::json());
      if (!cuts.is_array() ||
          !std::all_of(cuts.begin(), cuts.end(), [](auto& v) { return v.is_number(); }))
        return errorf(
            "profile '{}': cut_seconds: must be an array of numbers, one per block "
            "(version 2)",
            what);
      if (!j.value("io_seconds_per_byte", nlohmann::json()).is_number())
        return errorf("profile '{}': io_seconds_per_byte: must be a number (version 2)", what);
      p.cut_seconds = cuts.get<std::vector<double>>();
      if (p.cut_seconds.size() != p.blocks.size())
        return errorf("profile '{}': cut_seconds: has {} entries, blocks has {}: must be equal",
                      what, p.cut_seconds.size(), p.blocks.size());
      for (size_t k = 0; k < p.cut_seconds.size(); ++k)
        if (!(p.cut_seconds[k] >= 0) || p.cut_seconds[k] > 1e6 || (k == 0 && p.cut_seconds[k] != 0))
          return errorf("profile '{}': cut_seconds[{}]={}: must be in [0, 1e6] (and 0 at 0)", what,
                        k, p.cut_seconds[k]);
      p.io_seconds_per_byte = j.at("io_seconds_per_byte").get<double>();
      if (!(p.io_seconds_per_byte >= 0) || p.io_seconds_per_byte > 1e-3)
        return errorf("profile '{}': io_seconds_per_byte={}: must be in [0, 1e-3]", what,
                      p.io_seconds_per_byte);
    }
  } catch (const nlohmann::json::exception& e) {
    return errorf("profile '{}': {}", what, e.what());
  }
  return p;
}

Result<Profile> load_profile(const std::string& path) {
  std::ifstream f(path);
  if (!f) return errorf("profile '{}': cannot open file", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_profile(ss.str(), path);
}

// --- Building profiles ---

namespace {

int block_height(const graph::Graph& g, const graph::Block& b) {
  return g.nodes[size_t(b.last)].out.h;
}

// Row counts to measure for a block of output height h: 1, h and points
// spread between (denser at small counts, where latency is least linear).
std::vector<int> sample_rows(int h, int points) {
  std::vector<int> r = {1};
  for (int i = 1; i < points; ++i) {
    double f = double(i) / double(points - 1);
    r.push_back(std::max(1, int(std::lround(h * f * f * 0.5 + h * f * 0.5))));
  }
  r.push_back(h);
  std::sort(r.begin(), r.end());
  r.erase(std::unique(r.begin(), r.end()), r.end());
  return r;
}

// A band of r rows in the middle of h: interior bands pay halo on both sides.
Rows centered(int h, int r) { return {(h - r) / 2, (h - r) / 2 + r}; }

}  // namespace

Profile analytic_profile(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                         double gflops, double gbytes_per_s) {
  Profile p;
  p.model = g.name;
  p.host = fmt::format("analytic {:.0f} GFLOP/s", gflops);
  for (size_t k = 0; k < blocks.size(); ++k) {
    int h = block_height(g, blocks[k]);
    BlockTable t;
    for (int r : blocks[k].partitionable ? sample_rows(h, 5) : std::vector<int>{h}) {
      auto geo = graph::band_geometry(g, blocks, int(k), int(k) + 1, centered(h, r));
      graph::Cost c = graph::band_cost(g, *geo);
      t.rows.push_back(r);
      t.seconds.push_back(c.flops / (gflops * 1e9) + (c.bytes + c.weight_bytes) / (gbytes_per_s * 1e9));
    }
    p.whole_seconds += t.seconds.back();
    p.blocks.push_back(std::move(t));
  }
  return p;
}

// Each block is timed inside a pass over all blocks in order, one pass per
// sample point (every block at its i-th row count), so a block runs after its
// predecessors as in a frame: its weights and input are as cold as they are
// then. Timed alone and again and again, large-weight blocks measured 15-25%
// faster than inside a frame (resnet34's layer4: 2.4 ms alone, 2.9 ms after
// the block before it), and a pipeline stage of them was predicted too fast.
namespace {

Result<Profile> measure_once(const graph::Graph& g, int threads, int points, int repeats) {
  kernels::ExecOptions eo;  // the default backend, as workers use
  eo.threads = threads;
  eo.max_programs = int(g.nodes.size()) + 1;  // one pass's programs (one per block) stay
  ASSIGN_OR_RETURN(auto ex, kernels::Executor::create(g, eo));
  const auto& blocks = ex->blocks();
  const size_t n = blocks.size();
  Profile p;
  p.model = g.name;
  p.threads = threads;
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  p.host = host;
  // Block inputs from one whole-frame pass (values do not change timing).
  Tensor x(g.input_shape());
  for (size_t i = 0; i < x.data.size(); ++i) x.data[i] = float(i % 97) * 0.01f - 0.5f;
  std::vector<Tensor> in{x};
  std::vector<std::vector<int>> rows(n);
  size_t passes = 0;
  for (size_t k = 0; k < n; ++k) {
    int h = block_height(g, blocks[k]);
    rows[k] = blocks[k].partitionable ? sample_rows(h, points) : std::vector<int>{h};
    passes = std::max(passes, rows[k].size());
    ASSIGN_OR_RETURN(Tensor y, ex->run_band(int(k), int(k) + 1, {0, h}, in.back()));
    in.push_back(std::move(y));
  }
  auto now = [] { return std::chrono::steady_clock::now(); };
  // times[k][j]: the runs of block k at its j-th row count.
  std::vector<std::vector<std::vector<double>>> times(n);
  for (size_t k = 0; k < n; ++k) times[k].resize(rows[k].size());
  for (size_t i = 0; i < passes; ++i) {
    // A short block list samples fewer points: it takes its last (whole) one.
    auto band = [&](size_t k) {
      size_t j = std::min(i, rows[k].size() - 1);
      return std::make_pair(j, centered(block_height(g, blocks[k]), rows[k][j]));
    };
    ex->drop_programs();
    for (int rep = 0; rep <= repeats; ++rep) {  // rep 0 builds the programs, untimed
      for (size_t k = 0; k < n; ++k) {
        auto [j, out] = band(k);
        auto t0 = now();
        RETURN_IF_ERROR(ex->run_band(int(k), int(k) + 1, out, in[k]).status());
        if (rep > 0) times[k][j].push_back(std::chrono::duration<double>(now() - t0).count());
      }
    }
  }
  for (size_t k = 0; k < n; ++k) {
    BlockTable t;
    t.rows = rows[k];
    for (std::vector<double>& v : times[k]) {
      std::sort(v.begin(), v.end());
      t.seconds.push_back(v[v.size() / 2]);
    }
    p.blocks.push_back(std::move(t));
  }
  // Cuts: blocks k-1 and k run as one band, in passes over the whole frame
  // that pair every other block (both parities), against the two blocks timed
  // on their own above. Clamped at 0 and at the cheaper block: noise.
  std::vector<std::vector<double>> pairs(n);
  for (size_t parity = 0; parity < 2; ++parity) {
    ex->drop_programs();
    for (int rep = 0; rep <= repeats; ++rep) {
      for (size_t k = 0; k < n;) {
        size_t e = (k % 2 == parity && k + 2 <= n) ? k + 2 : k + 1;
        auto t0 = now();
        RETURN_IF_ERROR(
            ex->run_band(int(k), int(e), {0, block_height(g, blocks[e - 1])}, in[k]).status());
        if (rep > 0 && e == k + 2)
          pairs[k + 1].push_back(std::chrono::duration<double>(now() - t0).count());
        k = e;
      }
    }
  }
  p.version = 2;
  p.cut_seconds.assign(n, 0.0);
  for (size_t k = 1; k < n; ++k) {
    std::vector<double>& v = pairs[k];
    std::sort(v.begin(), v.end());
    double s0 = p.blocks[k - 1].seconds.back(), s1 = p.blocks[k].seconds.back();
    p.cut_seconds[k] = std::clamp(s0 + s1 - v[v.size() / 2], 0.0, std::min(s0, s1));
  }
  std::vector<double> whole;
  RETURN_IF_ERROR(ex->run(x).status());
  for (int rep = 0; rep < repeats; ++rep) {
    auto t0 = now();
    RETURN_IF_ERROR(ex->run(x).status());
    whole.push_back(std::chrono::duration<double>(now() - t0).count());
  }
  std::sort(whole.begin(), whole.end());
  p.whole_seconds = whole[whole.size() / 2];
  return p;
}

}  // namespace

double profile_inconsistency(const Profile& p) {
  if (!(p.whole_seconds > 0)) return 0;
  double s = 0;
  for (const BlockTable& b : p.blocks) s += b.seconds.empty() ? 0 : b.seconds.back();
  for (double c : p.cut_seconds) s -= c;
  return (s - p.whole_seconds) / p.whole_seconds;
}

Result<Profile> measure_profile(const graph::Graph& g, int threads, int points, int repeats) {
  if (points < 2 || repeats < 1) return errorf("profile: points >= 2 and repeats >= 1 required");
  Profile best;
  double best_off = std::numeric_limits<double>::infinity();
  for (int attempt = 0; attempt < kProfileAttempts; ++attempt) {
    ASSIGN_OR_RETURN(Profile p, measure_once(g, threads, points, repeats));
    const double off = std::abs(profile_inconsistency(p));
    if (off < best_off) {
      best = std::move(p);
      best_off = off;
    }
    if (off <= kProfileTolerance) break;
  }
  return best;
}

// --- CostModel ---

Result<CostModel> CostModel::create(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                                    const cluster::ClusterSpec& c, const Profile& reference) {
  CostModel cm;
  cm.g_ = &g;
  cm.blocks_ = &blocks;
  cm.c_ = c;
  for (const graph::Node& n : g.nodes) cm.model_flops_ += graph::node_cost(g, n, {0, n.out.h}).flops;
  for (const graph::Block& b : blocks) {  // float32 rows
    cm.in_row_bytes_.push_back(4.0 * double(g.nodes[size_t(b.input)].out.row_elements()));
    cm.out_row_bytes_.push_back(4.0 * double(g.nodes[size_t(b.last)].out.row_elements()));
  }
  auto check = [&](const Profile& p, const std::string& what) -> Status {
    if (p.blocks.size() != blocks.size())
      return errorf("profile {}: has {} blocks, model '{}' has {}: measured on another model?",
                    what, p.blocks.size(), g.name, blocks.size());
    if (!p.cut_seconds.empty() && p.cut_seconds.size() != blocks.size())
      return errorf("profile {}: has {} cut_seconds for {} blocks: must be equal", what,
                    p.cut_seconds.size(), blocks.size());
    return ok_status();
  };
  RETURN_IF_ERROR(check(reference, "'reference'"));
  for (const cluster::Device& d : c.devices) {
    if (d.profile.empty()) {
      cm.profiles_.push_back(reference);
    } else {
      ASSIGN_OR_RETURN(Profile p, load_profile(d.profile));
      RETURN_IF_ERROR(check(p, fmt::format("'{}' of device '{}'", d.profile, d.name)));
      cm.profiles_.push_back(std::move(p));
    }
    if (!(d.speed > 0)) return errorf("device '{}': speed={}: must be > 0", d.name, d.speed);
    cm.speed_.push_back(d.speed);
  }
  return cm;
}

double CostModel::block_seconds(int d, int k, double rows) const {
  return profiles_[size_t(d)].blocks[size_t(k)].at(rows) / speed_[size_t(d)];
}

double CostModel::cut_seconds(int d, int k, double rows) const {
  const Profile& p = profiles_[size_t(d)];
  if (p.cut_seconds.empty() || k <= 0) return 0;
  int h = g_->nodes[size_t((*blocks_)[size_t(k - 1)].last)].out.h;
  return p.cut_seconds[size_t(k)] * std::max(0.0, rows) / h / speed_[size_t(d)];
}

double CostModel::io_seconds(int d, double bytes) const {
  return profiles_[size_t(d)].io_seconds_per_byte * std::max(0.0, bytes) / speed_[size_t(d)];
}

double CostModel::task_seconds(int d, int a, int b, const int* rows, int in_rows) const {
  double s = 0;
  for (int k = a; k < b; ++k) {
    s += block_seconds(d, k, rows[k - a]);
    if (k > a) s -= cut_seconds(d, k, rows[k - 1 - a]);
  }
  double bytes = double(in_rows) * in_row_bytes_[size_t(a)] +
                 double(rows[b - 1 - a]) * out_row_bytes_[size_t(b - 1)];
  return std::max(0.0, s) + io_seconds(d, bytes);
}

double CostModel::band_seconds(int d, const graph::BandGeometry& geo) const {
  std::vector<int> rows;
  for (int k = geo.a; k < geo.b; ++k)
    rows.push_back(geo.compute[size_t((*blocks_)[size_t(k)].last)].size());
  return task_seconds(d, geo.a, geo.b, rows.data(), geo.input.size());
}

double CostModel::transfer_seconds(int i, int j, double bytes) const {
  if (i == j || bytes <= 0) return 0;
  int src = c_.source.empty() ? -1 : c_.find(c_.source);
  if (i < 0) i = src;
  if (j < 0) j = src;
  if (i == j) return 0;
  if (i < 0 || j < 0) {
    int d = i < 0 ? j : i;
    return bytes * 8 / c_.source_bandwidth_bps(d) + c_.source_latency_s(d);
  }
  return bytes * 8 / c_.bandwidth_bps(i, j) + c_.latency_s(i, j);
}

double CostModel::flops_per_s(int d) const {
  std::vector<int> rows;
  for (const graph::Block& b : *blocks_) rows.push_back(g_->nodes[size_t(b.last)].out.h);
  double s = task_seconds(d, 0, int(rows.size()), rows.data(), g_->input_shape().h);
  return s > 0 ? model_flops_ / s : 0;
}

}  // namespace coinfer::cost
