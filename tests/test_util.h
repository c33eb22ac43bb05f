// Helpers shared by the C++ tests: seeded tensors, error measures, and the
// band bit-identity property check.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "kernels/executor.h"

namespace coinfer::test {

inline Tensor random_tensor(const Shape& s, uint64_t seed) {
  Tensor t(s);
  std::mt19937 rng{uint32_t(seed)};
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : t.data) v = u(rng);
  return t;
}

// max |a - b| / max(1, max |b|)
inline double max_rel_error(const Tensor& a, const Tensor& b) {
  if (a.data.size() != b.data.size()) return INFINITY;
  double scale = 1, err = 0;
  for (float v : b.data) scale = std::max(scale, double(std::fabs(v)));
  for (size_t i = 0; i < a.data.size(); ++i) err = std::max(err, double(std::fabs(a.data[i] - b.data[i])));
  return err / scale;
}

// Property: for random block ranges [a, b) and random splits of the output
// rows into bands, each band run from only its needed input rows gives
// exactly (bitwise) the rows of the whole-frame run.
inline void check_random_bands(kernels::Executor& ex, uint64_t seed, int trials) {
  const auto& g = ex.graph();
  const auto& blocks = ex.blocks();
  std::mt19937 rng{uint32_t(seed)};
  Tensor x = random_tensor(g.input_shape(), seed);
  const int nb = int(blocks.size());
  // Whole-frame value at every block boundary.
  std::vector<Tensor> at(size_t(nb) + 1);
  at[0] = x;
  for (int k = 1; k <= nb; ++k) {
    const Shape& s = g.nodes[size_t(blocks[size_t(k - 1)].last)].out;
    auto r = ex.run_band(k - 1, k, {0, s.h}, at[size_t(k - 1)]);
    ASSERT_TRUE(r.ok()) << r.error();
    at[size_t(k)] = std::move(r).value();
  }
  auto whole = ex.run(x);
  ASSERT_TRUE(whole.ok()) << whole.error();
  ASSERT_EQ(0, std::memcmp(whole->data.data(), at[size_t(nb)].data.data(), whole->data.size() * 4))
      << "block-by-block run differs from the whole run";
  for (int t = 0; t < trials; ++t) {
    int a = int(rng() % uint32_t(nb));
    int b = a + 1 + int(rng() % uint32_t(nb - a));
    // Only partitionable ranges can be split; others run whole.
    bool part = true;
    for (int k = a; k < b; ++k) part = part && blocks[size_t(k)].partitionable;
    const Shape& s = g.nodes[size_t(blocks[size_t(b - 1)].last)].out;
    int parts = part ? 1 + int(rng() % uint32_t(std::min(s.h, 5))) : 1;
    std::vector<int> cuts = {0, s.h};
    while (int(cuts.size()) < parts + 1) {
      int c = 1 + int(rng() % uint32_t(std::max(1, s.h - 1)));
      if (std::find(cuts.begin(), cuts.end(), c) == cuts.end()) cuts.push_back(c);
    }
    std::sort(cuts.begin(), cuts.end());
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      Rows out{cuts[i], cuts[i + 1]};
      auto geo = graph::band_geometry(g, blocks, a, b, out);
      ASSERT_TRUE(geo.ok()) << geo.error();
      Tensor in_band = at[size_t(a)].slice(geo->input);  // only the needed rows
      auto r = ex.run_band(a, b, out, in_band);
      ASSERT_TRUE(r.ok()) << r.error();
      const Tensor& ref = at[size_t(b)];
      ASSERT_EQ(0, std::memcmp(r->data.data(), ref.row(out.lo), r->data.size() * 4))
          << g.name << ": blocks [" << a << "," << b << ") rows [" << out.lo << "," << out.hi
          << ") differ from the whole-frame run (seed " << seed << ", trial " << t << ")";
    }
  }
}

}  // namespace coinfer::test
