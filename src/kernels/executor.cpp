#include "kernels/executor.h"

#include <algorithm>
#include <cstring>

#include <xnnpack.h>

#include "kernels/onednn_util.h"

namespace coinfer::kernels {

// One band of one block range: geometry, buffers and the views into them.
struct Executor::Program {
  // One kernel run: node `node`'s output rows `rows` into `out`.
  struct Step {
    int node = 0;
    std::vector<BandView> in;
    BandView out;
    Rows rows;
  };
  graph::BandGeometry geo;
  std::vector<Step> steps;              // in order
  std::vector<BandView> views;          // per node id: its buffer (alloc rows)
  std::vector<std::vector<float>> slots;  // buffers, shared by nodes whose lives do not overlap
};

Executor::Executor(graph::Graph g, ExecOptions opt) : g_(std::move(g)), opt_(opt) {}

Executor::~Executor() {
  programs_.clear();
  kernels_.clear();
  if (pool_) pthreadpool_destroy(pool_);
}

Result<std::unique_ptr<Executor>> Executor::create(graph::Graph g, ExecOptions opt) {
  if (opt.threads < 1 || opt.threads > 256)
    return errorf("threads={}: must be in [1, 256]", opt.threads);
  std::unique_ptr<Executor> ex(new Executor(std::move(g), opt));
  // oneDNN runs its own OpenMP threads. A pthreadpool next to them would
  // oversubscribe the cores: OpenMP workers spin after each primitive (for
  // milliseconds, unless OMP_WAIT_POLICY=passive), and with two runtimes
  // busy at once a 2-thread mobilenet_v2 took 480-700 ms instead of ~4. So
  // with oneDNN the portable (memory-bound) kernels split their rows over
  // oneDNN's own OpenMP threads (Context::omp; resnet34 at 2 threads: 23.1
  // ms against 23.6 ms on the calling thread alone).
  if (opt.threads > 1 && opt.backend != Backend::OneDnn) {
    ex->pool_ = pthreadpool_create(size_t(opt.threads));
    if (!ex->pool_) return errorf("threads={}: cannot create the thread pool", opt.threads);
  }
  // oneDNN fixes a primitive's thread count when it is created.
  if (opt.backend == Backend::OneDnn) onednn_set_threads(opt.threads);
  ex->blocks_ = graph::find_blocks(ex->g_);
  ex->kernels_.resize(ex->g_.nodes.size());
  for (size_t i = 1; i < ex->g_.nodes.size(); ++i) {
    ASSIGN_OR_RETURN(ex->kernels_[i], make_kernel(ex->g_, int(i), opt.backend));
  }
  return ex;
}

Result<std::unique_ptr<Executor::Program>> Executor::build_program(int a, int b, Rows out) {
  ASSIGN_OR_RETURN(graph::BandGeometry geo, graph::band_geometry(g_, blocks_, a, b, out));
  auto p = std::make_unique<Program>();
  const size_t n = g_.nodes.size();
  p->views.resize(n);
  // Nodes to run, in order; last reader of each value within the range (the
  // output lives to the end).
  std::vector<int> order, last_use(n, -1);
  for (int i = geo.first_node; i <= geo.last_node; ++i) {
    if (geo.compute[size_t(i)].empty()) continue;
    order.push_back(i);
    for (int in : g_.nodes[size_t(i)].inputs) last_use[size_t(in)] = i;
  }
  last_use[size_t(geo.last_node)] = int(n);
  // Assign buffers: best-fit reuse of slots whose value is dead.
  std::vector<size_t> slot_size;
  std::vector<int> slot_free_after;  // node id after which the slot is free
  std::vector<int> slot_of(n, -1);
  std::vector<int> alloc_order = {geo.input_node};
  alloc_order.insert(alloc_order.end(), order.begin(), order.end());
  for (int id : alloc_order) {
    const Shape& s = g_.nodes[size_t(id)].out;
    size_t need = size_t(geo.alloc[size_t(id)].size() * s.row_elements()) + 16;  // XNN tail
    int best = -1;
    for (size_t k = 0; k < slot_size.size(); ++k) {
      if (slot_free_after[k] >= id) continue;
      if (best < 0 || (slot_size[k] >= need) > (slot_size[size_t(best)] >= need) ||
          ((slot_size[k] >= need) == (slot_size[size_t(best)] >= need) &&
           slot_size[k] < slot_size[size_t(best)]))
        best = int(k);
    }
    if (best < 0) {
      best = int(slot_size.size());
      slot_size.push_back(0);
      slot_free_after.push_back(0);
    }
    slot_size[size_t(best)] = std::max(slot_size[size_t(best)], need);
    slot_free_after[size_t(best)] = std::max(last_use[size_t(id)], id);
    slot_of[size_t(id)] = best;
  }
  for (size_t sz : slot_size) p->slots.emplace_back(sz, 0.f);
  for (int id : alloc_order) {
    BandView& v = p->views[size_t(id)];
    v.shape = g_.nodes[size_t(id)].out;
    v.row0 = geo.alloc[size_t(id)].lo;
    v.rows = geo.alloc[size_t(id)].size();
    v.data = p->slots[size_t(slot_of[size_t(id)])].data();
  }
  // Steps, with their input views checked once here.
  for (int id : order) {
    const graph::Node& node = g_.nodes[size_t(id)];
    Program::Step st;
    st.node = id;
    st.out = p->views[size_t(id)];
    st.rows = geo.compute[size_t(id)];
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const BandView& v = p->views[size_t(node.inputs[k])];
      RETURN_IF_ERROR(check_holds(node, int(k), v, st.rows));
      st.in.push_back(v);
    }
    p->steps.push_back(std::move(st));
  }
  p->geo = std::move(geo);
  return p;
}

// An internal invariant of band_geometry; checked once per program, never
// assumed.
Status Executor::check_holds(const graph::Node& node, int k, const BandView& v, Rows rows) const {
  Rows need = graph::input_rows(g_, node, k, rows);
  if (node.kind != graph::OpKind::Conv) need = need.clip(v.shape.h);
  if (v.holds(need)) return ok_status();
  return errorf("{} '{}': input {} holds rows [{}, {}) but needs [{}, {})",
                graph::op_name(node.kind), node.name, k, v.row0, v.row0 + v.rows, need.lo, need.hi);
}

Result<Executor::Program*> Executor::program(int a, int b, Rows out) {
  auto key = std::make_tuple(a, b, out.lo, out.hi);
  auto it = programs_.find(key);
  if (it != programs_.end()) return it->second.get();
  ASSIGN_OR_RETURN(auto p, build_program(a, b, out));
  if (programs_.size() >= size_t(std::max(1, opt_.max_programs))) programs_.clear();
  return (programs_[key] = std::move(p)).get();
}

void Executor::drop_programs() { programs_.clear(); }

namespace {

// Zeroes the rows of `v` outside `keep` (padding rows beyond the border).
void zero_margins(const BandView& v, Rows keep) {
  int64_t re = v.shape.row_elements();
  int top = std::max(0, keep.lo - v.row0);
  int bottom = std::max(0, v.row0 + v.rows - keep.hi);
  if (top) std::memset(v.data, 0, size_t(top * re) * 4);
  if (bottom) std::memset(v.row(keep.hi), 0, size_t(bottom * re) * 4);
}

}  // namespace

Result<Tensor> Executor::run(const Tensor& input) {
  return run_band(0, int(blocks_.size()), Rows{0, g_.output_shape().h}, input);
}

Result<Tensor> Executor::run_band(int a, int b, Rows out, const Tensor& input) {
  ASSIGN_OR_RETURN(Program * p, program(a, b, out));
  const graph::BandGeometry& geo = p->geo;
  const Shape& want = g_.nodes[size_t(geo.input_node)].out;
  if (input.shape.c != want.c || input.shape.h != want.h || input.shape.w != want.w)
    return errorf("input: shape {} does not match the expected {} of '{}'", input.shape.str(),
                  want.str(), g_.nodes[size_t(geo.input_node)].name);
  Rows have = input.band();
  if (geo.input.lo < have.lo || geo.input.hi > have.hi)
    return errorf("input: band holds rows [{}, {}) but blocks [{}, {}) rows [{}, {}) need [{}, {})",
                  have.lo, have.hi, a, b, out.lo, out.hi, geo.input.lo, geo.input.hi);
  if (input.data.size() != size_t(input.rows * input.shape.row_elements()))
    return errorf("input: {} floats held for {} rows of {}", input.data.size(), input.rows,
                  input.shape.str());
  const BandView& iv = p->views[size_t(geo.input_node)];
  zero_margins(iv, geo.input);
  std::memcpy(iv.row(geo.input.lo), input.row(geo.input.lo),
              size_t(geo.input.size() * want.row_elements()) * 4);
  Context ctx{pool_, opt_.threads, opt_.backend == Backend::OneDnn};
  for (const Program::Step& st : p->steps) {
    zero_margins(st.out, st.rows);
    RETURN_IF_ERROR(kernels_[size_t(st.node)]->run(st.in, st.out, st.rows, ctx));
  }
  const BandView& ov = p->views[size_t(geo.last_node)];
  Tensor result(ov.shape, out);
  std::memcpy(result.data.data(), ov.row(out.lo), result.data.size() * 4);
  return result;
}

}  // namespace coinfer::kernels
