// Plan checks and the memory estimate. JSON I/O is in plan_json.cpp.
#include "plan/plan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace coinfer::plan {

namespace {

// More parts than this in one stage are rejected before the quadratic checks.
constexpr size_t kMaxParts = 1024;

std::string range_str(Rows r) {
  return fmt::format("[{},{})", r.lo, r.hi);
}

std::string mb(double bytes) {
  return fmt::format("{:.1f} MB", bytes / 1e6);
}

// A part's region of the stage output, clipped to [0,H)x[0,W).
struct Rect {
  Rows rows, cols;
  bool empty() const { return rows.empty() || cols.empty(); }
};

Rect intersect(const Rect& a, const Rect& b) {
  return {{std::max(a.rows.lo, b.rows.lo), std::min(a.rows.hi, b.rows.hi)},
          {std::max(a.cols.lo, b.cols.lo), std::min(a.cols.hi, b.cols.hi)}};
}

std::string rect_str(const Rect& r, int w) {
  std::string s = "rows " + range_str(r.rows);
  if (!(r.cols == Rows{0, w})) s += " cols " + range_str(r.cols);
  return s;
}

// Ranges [lo, hi) of consecutive indices in a sorted list, as "[a,b), [c,d)".
std::string index_ranges(const std::vector<int>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j + 1 < ids.size() && ids[j + 1] == ids[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += range_str({ids[i], ids[j] + 1});
    i = j + 1;
  }
  return out;
}

// Uncovered rectangles of [0,h)x[0,w) given covering rectangles (clipped).
// Coordinate compression + a 2-D difference array; adjacent uncovered cells
// are merged along columns, then row strips with identical column sets.
std::vector<Rect> uncovered(const std::vector<Rect>& rs, int h, int w) {
  std::vector<int> ys = {0, h}, xs = {0, w};
  for (const Rect& r : rs) {
    ys.insert(ys.end(), {r.rows.lo, r.rows.hi});
    xs.insert(xs.end(), {r.cols.lo, r.cols.hi});
  }
  for (auto* v : {&ys, &xs}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  size_t ny = ys.size(), nx = xs.size();
  auto yi = [&](int y) { return size_t(std::lower_bound(ys.begin(), ys.end(), y) - ys.begin()); };
  auto xi = [&](int x) { return size_t(std::lower_bound(xs.begin(), xs.end(), x) - xs.begin()); };
  std::vector<int> cov(ny * nx, 0);
  for (const Rect& r : rs) {
    size_t y0 = yi(r.rows.lo), y1 = yi(r.rows.hi), x0 = xi(r.cols.lo), x1 = xi(r.cols.hi);
    cov[y0 * nx + x0] += 1;
    cov[y0 * nx + x1] -= 1;
    cov[y1 * nx + x0] -= 1;
    cov[y1 * nx + x1] += 1;
  }
  for (size_t y = 0; y < ny; ++y)
    for (size_t x = 0; x < nx; ++x) {
      if (y > 0) cov[y * nx + x] += cov[(y - 1) * nx + x];
      if (x > 0) cov[y * nx + x] += cov[y * nx + x - 1];
      if (y > 0 && x > 0) cov[y * nx + x] -= cov[(y - 1) * nx + x - 1];
    }
  std::vector<Rect> out;
  std::vector<Rows> prev_cols;
  for (size_t y = 0; y + 1 < ny; ++y) {
    std::vector<Rows> cols;
    for (size_t x = 0; x + 1 < nx; ++x) {
      if (cov[y * nx + x] != 0) continue;
      if (!cols.empty() && cols.back().hi == xs[x]) {
        cols.back().hi = xs[x + 1];
      } else {
        cols.push_back({xs[x], xs[x + 1]});
      }
    }
    bool extend = !cols.empty() && cols == prev_cols && !out.empty() && out.back().rows.hi == ys[y];
    if (extend) {
      for (size_t k = out.size() - cols.size(); k < out.size(); ++k) out[k].rows.hi = ys[y + 1];
    } else {
      for (Rows c : cols) out.push_back({{ys[y], ys[y + 1]}, c});
    }
    prev_cols = cols;
  }
  return out;
}

// A part's identity for memory: interleaved pipelines repeat parts.
using PartKey = std::tuple<std::string, int, int, int, int, int, int>;
PartKey part_key(const Stage& s, const Assignment& a) {
  return {a.device, s.first_block, s.last_block, a.rows.lo, a.rows.hi, a.cols.lo, a.cols.hi};
}

struct StageCheck {
  const graph::Graph& g;
  const std::vector<graph::Block>& blocks;
  const std::map<std::string, int>& devices;
  std::vector<std::string>& errors;

  // Checks the parts of stage `si` (block range known to be valid). Returns,
  // per part, whether its region is well-formed and within the output.
  std::vector<bool> check(int si, const Stage& st) {
    const graph::Node& out = g.nodes[size_t(blocks[size_t(st.last_block - 1)].last)];
    const int h = out.out.h, w = out.out.w;
    std::vector<bool> valid(st.parts.size(), false);
    std::vector<Rect> rects(st.parts.size());
    std::map<std::string, size_t> seen;
    for (size_t j = 0; j < st.parts.size(); ++j) {
      const Assignment& a = st.parts[j];
      std::string who = fmt::format("stage {} part {} (device '{}')", si, j, a.device);
      if (!devices.count(a.device)) errors.push_back(fmt::format("{}: unknown device", who));
      auto [it, fresh] = seen.emplace(a.device, j);
      if (!fresh)
        errors.push_back(fmt::format("stage {}: device '{}' is used by parts {} and {}", si,
                                     a.device, it->second, j));
      bool ok = true;
      if (a.rows.empty()) {
        errors.push_back(fmt::format("{}: rows {}: empty", who, range_str(a.rows)));
        ok = false;
      } else if (a.rows.lo < 0 || a.rows.hi > h) {
        errors.push_back(fmt::format("{}: rows {} outside the output rows [0,{}) of block '{}'",
                                     who, range_str(a.rows), h, out.name));
      }
      if (!a.all_cols() || !(a.cols == Rows{0, 0})) {
        if (a.cols.empty()) {
          errors.push_back(fmt::format("{}: cols {}: empty (omit cols for all columns)", who,
                                       range_str(a.cols)));
          ok = false;
        } else if (a.cols.lo < 0 || a.cols.hi > w) {
          errors.push_back(
              fmt::format("{}: cols {} outside the output columns [0,{}) of block '{}'", who,
                          range_str(a.cols), w, out.name));
        }
      }
      Rows cols = a.all_cols() ? Rows{0, w} : a.cols;
      rects[j] = {a.rows.clip(h), cols.clip(w)};
      valid[j] = ok && a.rows.lo >= 0 && a.rows.hi <= h && cols.lo >= 0 && cols.hi <= w;
      if (!ok) rects[j] = {};
    }
    // Non-partitionable blocks run whole on one device.
    std::vector<int> whole;
    for (int b = st.first_block; b < st.last_block; ++b)
      if (!blocks[size_t(b)].partitionable) whole.push_back(b);
    if (!whole.empty()) {
      bool one = st.parts.size() == 1 && rects[0].rows == Rows{0, h} && rects[0].cols == Rows{0, w};
      if (!one)
        errors.push_back(fmt::format(
            "stage {}: blocks {} are not row-partitionable (global pooling/FC): must run whole "
            "on one device (the stage has {} part{})",
            si, index_ranges(whole), st.parts.size(), st.parts.size() == 1 ? "" : "s"));
      return valid;
    }
    // Coverage: the regions tile [0,h)x[0,w) exactly.
    for (size_t i = 0; i < rects.size(); ++i)
      for (size_t j = i + 1; j < rects.size(); ++j) {
        Rect x = intersect(rects[i], rects[j]);
        if (rects[i].empty() || rects[j].empty() || x.empty()) continue;
        errors.push_back(
            fmt::format("stage {}: parts {} (device '{}') and {} (device '{}') overlap in {}", si,
                        i, st.parts[i].device, j, st.parts[j].device, rect_str(x, w)));
      }
    std::vector<Rect> cover;
    for (const Rect& r : rects)
      if (!r.empty()) cover.push_back(r);
    std::vector<Rect> gaps = uncovered(cover, h, w);
    if (!gaps.empty()) {
      std::string list;
      for (size_t k = 0; k < gaps.size() && k < 4; ++k)
        list += (k ? ", " : "") + rect_str(gaps[k], w);
      if (gaps.size() > 4) list += fmt::format(" and {} more", gaps.size() - 4);
      errors.push_back(
          fmt::format("stage {}: gap: {} of the output of block '{}' ([0,{})x[0,{})) "
                      "are not assigned to any device",
                      si, list, out.name, h, w));
    }
    return valid;
  }
};

}  // namespace

MemoryUse memory_use(const graph::Graph& g, const std::vector<graph::Block>& blocks, const Stage& s,
                     const Assignment& a) {
  MemoryUse m;
  if (s.first_block < 0 || s.last_block > int(blocks.size()) || s.first_block >= s.last_block)
    return m;
  for (int b = s.first_block; b < s.last_block; ++b)
    for (int id = blocks[size_t(b)].first; id <= blocks[size_t(b)].last; ++id) {
      const graph::Node& n = g.nodes[size_t(id)];
      m.weights += 4.0 * double(n.weight.size() + n.bias.size());
    }
  auto geo = graph::band_geometry(g, blocks, s.first_block, s.last_block, a.rows);
  if (!geo.ok()) return m;
  auto bytes = [&](int id) {
    return 4.0 * double(geo->alloc[size_t(id)].size()) *
           double(g.nodes[size_t(id)].out.row_elements());
  };
  double top1 = 0, top2 = 0;
  for (int id = geo->first_node; id <= geo->last_node; ++id) {
    double b = bytes(id);
    if (b > top1) {
      top2 = top1;
      top1 = b;
    } else if (b > top2) {
      top2 = b;
    }
  }
  double buffers = bytes(geo->input_node) + top1 + top2;
  if (!a.all_cols()) {
    int w = g.nodes[size_t(geo->last_node)].out.w;
    double frac = w > 0 ? double(a.cols.clip(w).size()) / w : 1.0;
    buffers *= std::clamp(frac, 0.0, 1.0);
  }
  m.buffers = buffers;
  return m;
}

MemoryUse device_memory_use(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                            const Plan& p, const std::string& device) {
  MemoryUse sum;
  std::set<PartKey> counted;
  for (const Stage& st : p.stages)
    for (const Assignment& a : st.parts) {
      if (a.device != device || !counted.insert(part_key(st, a)).second) continue;
      MemoryUse m = memory_use(g, blocks, st, a);
      sum.weights += m.weights;
      sum.buffers += m.buffers;
    }
  return sum;
}

double memory_bytes(const graph::Graph& g, const std::vector<graph::Block>& blocks, const Stage& s,
                    const Assignment& a) {
  return memory_use(g, blocks, s, a).total();
}

std::vector<std::string> validate(const Plan& p, const graph::Graph& g,
                                  const std::vector<graph::Block>& blocks,
                                  const cluster::ClusterSpec& c) {
  std::vector<std::string> errors;
  if (p.version != kPlanVersion)
    errors.push_back(
        fmt::format("version {}: this build reads version {}", p.version, kPlanVersion));
  if (!p.model.empty() && p.model != g.name)
    errors.push_back(fmt::format("plan is for model '{}' but the model is '{}'", p.model, g.name));
  if (p.stages.empty()) {
    errors.push_back("plan has no stages");
    return errors;
  }
  auto spans = pipeline_spans(p);
  if (!spans.ok()) {
    errors.push_back(spans.error());
    return errors;
  }
  // first/last stage of its pipeline, per stage index
  std::vector<bool> first(p.stages.size()), last(p.stages.size());
  for (Rows sp : *spans) {
    first[size_t(sp.lo)] = true;
    last[size_t(sp.hi - 1)] = true;
  }
  const bool interleaved = spans->size() > 1;
  std::map<std::string, int> devices;
  for (size_t i = 0; i < c.devices.size(); ++i) devices.emplace(c.devices[i].name, int(i));
  std::map<std::string, MemoryUse> use;
  std::map<std::string, std::vector<int>> used_in;
  std::set<PartKey> counted;
  const int nb = int(blocks.size());
  StageCheck check{g, blocks, devices, errors};
  for (size_t si = 0; si < p.stages.size(); ++si) {
    const Stage& st = p.stages[si];
    const int f = st.first_block, l = st.last_block;
    std::string where = fmt::format("stage {}: blocks {}", si, range_str({f, l}));
    bool range_ok = false;
    if (f >= l) {
      errors.push_back(where + ": empty block range");
    } else if (f < 0 || l > nb) {
      errors.push_back(fmt::format("{}: outside the model's blocks [0,{})", where, nb));
    } else {
      range_ok = true;
    }
    if (interleaved) where = fmt::format("pipeline {} {}", st.pipeline, where);
    if (first[si] && f != 0) {
      errors.push_back(where + ": the first stage must start at block 0" +
                       (f > 0 ? fmt::format(" (blocks [0,{}) are not run)", f) : ""));
    } else if (!first[si]) {
      int prev = p.stages[si - 1].last_block;
      if (f > prev)
        errors.push_back(fmt::format("{}: gap after stage {}: blocks [{},{}) are not run", where,
                                     si - 1, prev, f));
      if (f < prev)
        errors.push_back(fmt::format("{}: overlaps stage {}: blocks [{},{}) would run twice", where,
                                     si - 1, f, std::min(prev, l)));
    }
    if (last[si] && l != nb)
      errors.push_back(where + fmt::format(": the last stage must end at block {}", nb) +
                       (l < nb ? fmt::format(" (blocks [{},{}) are not run)", l, nb) : ""));
    if (st.parts.empty()) {
      errors.push_back(fmt::format("stage {}: no parts", si));
      continue;
    }
    if (st.parts.size() > kMaxParts) {
      errors.push_back(fmt::format("stage {}: {} parts: at most {} are supported", si,
                                   st.parts.size(), kMaxParts));
      continue;
    }
    if (!range_ok) continue;
    std::vector<bool> valid = check.check(int(si), st);
    for (size_t j = 0; j < st.parts.size(); ++j) {
      const Assignment& a = st.parts[j];
      if (!valid[j] || !devices.count(a.device)) continue;
      if (!counted.insert(part_key(st, a)).second) continue;  // a repeat counts once
      MemoryUse m = memory_use(g, blocks, st, a);
      use[a.device].weights += m.weights;
      use[a.device].buffers += m.buffers;
      used_in[a.device].push_back(int(si));
    }
  }
  for (const cluster::Device& d : c.devices) {
    auto it = use.find(d.name);
    if (d.memory_bytes <= 0 || it == use.end() || it->second.total() <= d.memory_bytes) continue;
    const MemoryUse& m = it->second;
    std::vector<int>& st = used_in[d.name];
    st.erase(std::unique(st.begin(), st.end()), st.end());
    errors.push_back(
        fmt::format("device '{}' needs {} (weights {} + buffers {}) but has {} "
                    "(stage{} {})",
                    d.name, mb(m.total()), mb(m.weights), mb(m.buffers), mb(d.memory_bytes),
                    st.size() == 1 ? "" : "s", fmt::join(st, ", ")));
  }
  return errors;
}

Result<std::vector<Rows>> pipeline_spans(const Plan& p) {
  std::vector<Rows> spans;
  for (size_t i = 0; i < p.stages.size(); ++i) {
    const int k = p.stages[i].pipeline, at = int(spans.size()) - 1;
    if (at >= 0 && k == at) {
      spans.back().hi = int(i) + 1;
    } else if (k == at + 1) {
      spans.push_back({int(i), int(i) + 1});
    } else {
      return errorf(
          "stage {}: pipeline {}: pipelines must be numbered 0, 1, ... with each one's stages "
          "together (expected {})",
          i, k, at < 0 ? "0" : fmt::format("{} or {}", at, at + 1));
    }
  }
  return spans;
}

int depth(const Plan& p) {
  auto spans = pipeline_spans(p);
  if (!spans.ok()) return int(p.stages.size());
  int d = 0;
  for (Rows sp : *spans) d = std::max(d, sp.size());
  return d;
}

int default_in_flight(const Plan& p) {
  auto spans = pipeline_spans(p);
  return depth(p) + (spans.ok() ? int(spans->size()) : 1);
}

Plan single_device_plan(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                        const std::string& device) {
  Plan p;
  p.model = g.name;
  p.strategy = "single";
  Stage s;
  s.first_block = 0;
  s.last_block = int(blocks.size());
  int h = blocks.empty() ? 0 : g.nodes[size_t(blocks.back().last)].out.h;
  s.parts.push_back({device, {0, h}, {0, 0}});
  p.stages.push_back(std::move(s));
  return p;
}

}  // namespace coinfer::plan
