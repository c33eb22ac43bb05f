// Kernels: one per graph node, created once per model (weights packed once),
// then run any number of times on any band of output rows.
//
// Contract of Kernel::run: produce output rows `rows` of the node into `out`
// (which holds at least those rows). The executor has checked that each input
// view holds every row graph::input_rows() asks for; for Conv that includes
// the zero rows beyond the image border (padding is real rows, so a band and
// the whole frame run the exact same arithmetic). All other ops handle image
// borders themselves and are only given rows inside [0, H).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <pthreadpool.h>

#include "core/status.h"
#include "core/tensor.h"
#include "graph/graph.h"

namespace coinfer::kernels {

// Xnnpack and OneDnn differ in Conv/Dense only (see docs/BACKENDS.md); all
// other ops share the portable kernels. Reference is the slow, obvious one.
enum class Backend : uint8_t { Xnnpack, Reference, OneDnn, Count };
const char* backend_name(Backend b);
// The backend used unless one is asked for: the fastest measured here.
inline constexpr Backend kDefaultBackend = Backend::OneDnn;
// "xnnpack" | "onednn" | "reference" (the names of backend_name).
Result<Backend> parse_backend(const std::string& name);

// Rows [row0, row0 + rows) of a value whose full shape is `shape`, NHWC.
struct BandView {
  Shape shape;
  int row0 = 0;
  int rows = 0;
  float* data = nullptr;

  float* row(int r) const { return data + int64_t(r - row0) * shape.row_elements(); }
  float* at(int r, int x) const { return row(r) + int64_t(x) * shape.c; }
  bool holds(Rows r) const { return r.empty() || (r.lo >= row0 && r.hi <= row0 + rows); }
};

struct Context {
  pthreadpool_t pool = nullptr;  // null: run on the calling thread (or OpenMP, below)
  int threads = 1;               // oneDNN's (OpenMP) thread count
  bool omp = false;              // with no pool: split loops over oneDNN's OpenMP threads
};

// Runs fn(arg, lo, hi) over [0, n) split into `threads` contiguous chunks on
// the OpenMP runtime oneDNN uses (libgomp, looked up at run time: no second
// thread pool to fight it for the cores). False if there is none.
bool omp_parallel(size_t n, void (*fn)(void* arg, size_t lo, size_t hi), void* arg, int threads);

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual Status run(const std::vector<BandView>& in, const BandView& out, Rows rows,
                     Context& ctx) = 0;
};

// Base of the kernels: the node it runs and the shape of its first input.
// The graph must outlive the kernel.
class NodeKernel : public Kernel {
 protected:
  NodeKernel(const graph::Graph& g, int id)
      : g_(g), n_(g.nodes[size_t(id)]),
        in_(n_.inputs.empty() ? Shape{} : g.nodes[size_t(n_.inputs[0])].out) {}
  // Rows of input i needed for output rows `out` (not clipped).
  Rows need(int i, Rows out) const { return graph::input_rows(g_, n_, i, out); }

  const graph::Graph& g_;
  const graph::Node& n_;
  Shape in_;
};

template <typename K>
std::unique_ptr<Kernel> make_node_kernel(const graph::Graph& g, int id) {
  return std::unique_ptr<Kernel>(new K(g, id));
}

// Creates the kernel for node `id` of `g` on `backend`. Ops without a
// backend-specific version share one portable implementation.
Result<std::unique_ptr<Kernel>> make_kernel(const graph::Graph& g, int id, Backend backend);

// Runs fn(i) for i in [0, n), in parallel on the context's pool or OpenMP
// threads. Every i is computed by one thread, so results do not depend on
// the split.
template <typename F>
void parallel_for(Context& ctx, size_t n, const F& fn) {
  if (ctx.pool == nullptr && ctx.omp && ctx.threads > 1 && n >= 2) {
    auto chunk = [](void* arg, size_t lo, size_t hi) {
      const F& f = *static_cast<const F*>(arg);
      for (size_t i = lo; i < hi; ++i) f(i);
    };
    if (omp_parallel(n, chunk, const_cast<F*>(&fn), ctx.threads)) return;
  }
  if (ctx.pool == nullptr || n < 2) {
    for (size_t i = 0; i < n; ++i) fn(i);
  } else {
    pthreadpool_parallelize_1d(ctx.pool, fn, n);
  }
}

// Applies a fused or standalone activation in place on n floats.
void apply_activation(const graph::Node& n, float* data, size_t count);

// The portable kernels (shared by all backends), one file each.
std::unique_ptr<Kernel> make_pool_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_global_pool_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_binary_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_unary_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_concat_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_flatten_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_softmax_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_pad_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_resize_kernel(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_space_to_depth_kernel(const graph::Graph& g, int id);
// Backend-specific kernels.
Result<std::unique_ptr<Kernel>> make_conv_xnnpack(const graph::Graph& g, int id);
Result<std::unique_ptr<Kernel>> make_dense_xnnpack(const graph::Graph& g, int id);
Result<std::unique_ptr<Kernel>> make_conv_onednn(const graph::Graph& g, int id);
Result<std::unique_ptr<Kernel>> make_dense_onednn(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_conv_reference(const graph::Graph& g, int id);
std::unique_ptr<Kernel> make_dense_reference(const graph::Graph& g, int id);

}  // namespace coinfer::kernels
