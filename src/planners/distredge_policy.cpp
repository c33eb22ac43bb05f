// policy.bin: a trained distredge policy, explicit little-endian, written
// field by field (net::ByteWriter / ByteReader):
//   magic "CNFRDDPG" | version u32 (= 1)
//   model str | cluster str | n_blocks u32
//   providers u32 n, n x str           (split order)
//   bounds u32 n, n x u32              (LV boundaries, 0 .. P, increasing)
//   latency_ref f64 | episodes u32 | seed u64
//   actor layers u32 n, per layer: act u8 | rows u32 | cols u32 |
//         w rows x cols f64 (row-major) | b rows x f64
//   best plan: lvs u32 n, per LV: u32 count, count x u32 (cut rows)
//   best_latency_s f64
// str = u32 length + bytes; f64 = the IEEE-754 bits as u64.
// Loading checks every length, limit and dimension and rejects trailing
// bytes; each violation is one error naming the file and the field.
#include <bit>
#include <cmath>
#include <fstream>
#include <iterator>

#include "net/wire.h"
#include "planners/distredge.h"

namespace coinfer::planners::distredge {

namespace {

constexpr char kMagic[8] = {'C', 'N', 'F', 'R', 'D', 'D', 'P', 'G'};
constexpr uint32_t kVersion = 1;
constexpr uint32_t kMaxName = 4096, kMaxCount = 1 << 16, kMaxLayers = 64;

uint64_t magic_u64() {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(uint8_t(kMagic[i])) << (8 * i);
  return v;
}

void f64(net::ByteWriter& w, double v) {
  w.u64(std::bit_cast<uint64_t>(v));
}
double f64(net::ByteReader& r, const char* field) {
  return std::bit_cast<double>(r.u64(field));
}

// A count field, checked against a limit and against the bytes left
// (`min_bytes` per element).
uint32_t count(net::ByteReader& r, const char* field, uint32_t max, size_t min_bytes,
               const std::string& what) {
  uint32_t n = r.u32(field);
  if (!r.status().ok()) return 0;
  if (n > max || size_t(n) * min_bytes > r.remaining()) {
    r.fail(errorf("{}: field '{}' = {}: exceeds the limit {} or the {} bytes left", what, field, n,
                  max, r.remaining()));
    return 0;
  }
  return n;
}

}  // namespace

std::vector<uint8_t> encode_policy(const Policy& p) {
  net::ByteWriter w;
  w.bytes(kMagic, sizeof(kMagic));
  w.u32(kVersion);
  w.str(p.model);
  w.str(p.cluster);
  w.u32(uint32_t(p.n_blocks));
  w.u32(uint32_t(p.devices.size()));
  for (const std::string& d : p.devices) w.str(d);
  w.u32(uint32_t(p.bounds.size()));
  for (int b : p.bounds) w.u32(uint32_t(b));
  f64(w, p.latency_ref);
  w.u32(uint32_t(p.episodes));
  w.u64(p.seed);
  w.u32(uint32_t(p.actor.layers().size()));
  for (const rl::Dense& d : p.actor.layers()) {
    w.u8(uint8_t(d.act));
    w.u32(uint32_t(d.w.rows()));
    w.u32(uint32_t(d.w.cols()));
    for (Eigen::Index i = 0; i < d.w.rows(); ++i)
      for (Eigen::Index j = 0; j < d.w.cols(); ++j) f64(w, d.w(i, j));
    for (Eigen::Index i = 0; i < d.b.size(); ++i) f64(w, d.b(i));
  }
  w.u32(uint32_t(p.best_cuts.size()));
  for (const std::vector<int>& c : p.best_cuts) {
    w.u32(uint32_t(c.size()));
    for (int v : c) w.u32(uint32_t(v));
  }
  f64(w, p.best_latency_s);
  return std::move(w.buffer());
}

Result<Policy> decode_policy(std::span<const uint8_t> bytes, const std::string& what) {
  net::ByteReader r(bytes, what);
  Policy p;
  if (r.u64("magic") != magic_u64() && r.status().ok())
    return errorf("{}: not a distredge policy (magic is not \"CNFRDDPG\")", what);
  uint32_t version = r.u32("version");
  if (r.status().ok() && version != kVersion)
    return errorf("{}: version {} is not supported (this build reads version {})", what, version,
                  kVersion);
  p.model = r.str("model", kMaxName);
  p.cluster = r.str("cluster", kMaxName);
  p.n_blocks = int(r.u32("n_blocks"));
  uint32_t nd = count(r, "providers", kMaxCount, 4, what);
  for (uint32_t i = 0; i < nd; ++i) p.devices.push_back(r.str("provider", kMaxName));
  uint32_t nbnd = count(r, "bounds", kMaxCount, 4, what);
  for (uint32_t i = 0; i < nbnd; ++i) p.bounds.push_back(int(r.u32("bound")));
  p.latency_ref = f64(r, "latency_ref");
  p.episodes = int(r.u32("episodes"));
  p.seed = r.u64("seed");
  uint32_t nl = count(r, "layers", kMaxLayers, 9, what);
  std::vector<rl::Dense> layers;
  for (uint32_t l = 0; l < nl && r.status().ok(); ++l) {
    rl::Dense d;
    uint8_t act = r.u8("act");
    uint32_t rows = r.u32("rows"), cols = r.u32("cols");
    if (!r.status().ok()) break;
    if (act >= uint8_t(rl::Act::Count))
      return errorf("{}: layer {}: activation {} is unknown", what, l, act);
    if (rows == 0 || cols == 0 || rows > kMaxCount || cols > kMaxCount ||
        (uint64_t(rows) * cols + rows) * 8 > r.remaining())
      return errorf(
          "{}: layer {}: {} x {} weights: dims must be in [1, {}] and fit the {} bytes left", what,
          l, rows, cols, kMaxCount, r.remaining());
    if (!layers.empty() && int(cols) != layers.back().w.rows())
      return errorf("{}: layer {} takes {} inputs but the layer before gives {}", what, l, cols,
                    layers.back().w.rows());
    d.act = rl::Act(act);
    d.w.resize(rows, cols);
    d.b.resize(rows);
    for (uint32_t i = 0; i < rows; ++i)
      for (uint32_t j = 0; j < cols; ++j) d.w(i, j) = f64(r, "weight");
    for (uint32_t i = 0; i < rows; ++i) d.b(i) = f64(r, "bias");
    layers.push_back(std::move(d));
  }
  uint32_t nlv = count(r, "best_lvs", kMaxCount, 4, what);
  for (uint32_t l = 0; l < nlv && r.status().ok(); ++l) {
    uint32_t nc = count(r, "best_cuts", kMaxCount, 4, what);
    std::vector<int> c;
    for (uint32_t i = 0; i < nc; ++i) c.push_back(int(r.u32("cut")));
    p.best_cuts.push_back(std::move(c));
  }
  p.best_latency_s = f64(r, "best_latency_s");
  RETURN_IF_ERROR(r.finish());
  // Consistency of the decoded fields.
  if (nd == 0) return errorf("{}: no providers", what);
  for (size_t i = 0; i < p.bounds.size(); ++i)
    if ((i == 0 && p.bounds[i] != 0) || (i > 0 && p.bounds[i] <= p.bounds[i - 1]) ||
        p.bounds[i] > p.n_blocks)
      return errorf("{}: bounds: must increase from 0 and stay <= n_blocks {}", what, p.n_blocks);
  if (!layers.empty() && (layers.front().w.cols() != Eigen::Index(nd) + 4 ||
                          layers.back().w.rows() != Eigen::Index(nd) - 1))
    return errorf("{}: the actor maps {} -> {} values; {} providers need {} -> {}", what,
                  layers.front().w.cols(), layers.back().w.rows(), nd, nd + 4, nd - 1);
  if (layers.empty() && nd > 1 && nbnd > 1)
    return errorf("{}: no actor for {} providers", what, nd);
  if (!(p.latency_ref > 0) || !std::isfinite(p.latency_ref))
    return errorf("{}: latency_ref = {}: must be a positive number", what, p.latency_ref);
  p.actor = rl::Mlp(std::move(layers));
  return p;
}

Status save_policy(const Policy& p, const std::string& path) {
  std::vector<uint8_t> b = encode_policy(p);
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  if (!f) return errorf("distredge: cannot write policy file '{}'", path);
  return ok_status();
}

Result<Policy> load_policy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return errorf("distredge: cannot read policy file '{}'", path);
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_policy(b, fmt::format("policy file '{}'", path));
}

}  // namespace coinfer::planners::distredge
