// Executor: runs a model, or any contiguous run of its blocks on any band of
// output rows, exactly. Kernels are created once per model (weights packed
// once); each distinct band (a, b, rows) gets a cached program with its own
// buffers, so repeated frames do no allocation and no XNNPACK re-setup.
//
//   ASSIGN_OR_RETURN(auto ex, Executor::create(std::move(graph), {Backend::Xnnpack, 2}));
//   Result<Tensor> y = ex->run(x);                        // whole frame
//   Result<Tensor> band = ex->run_band(0, 5, {0, 28}, x_band);  // blocks [0,5), rows [0,28)
//
// Not thread-safe: one executor per thread of work.
#pragma once

#include <map>
#include <memory>
#include <tuple>

#include "graph/blocks.h"
#include "kernels/kernel.h"

namespace coinfer::kernels {

struct ExecOptions {
  Backend backend = kDefaultBackend;
  int threads = 1;  // >1 uses a pthreadpool of that many threads
  // Band programs (with their buffers) kept; all are dropped when one more
  // is needed. The profiler keeps one per block.
  int max_programs = 32;
};

class Executor {
 public:
  static Result<std::unique_ptr<Executor>> create(graph::Graph g, ExecOptions opt = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  const graph::Graph& graph() const { return g_; }
  const std::vector<graph::Block>& blocks() const { return blocks_; }

  // Whole model on a whole input frame.
  Result<Tensor> run(const Tensor& input);
  // Blocks [a, b) producing rows `out` of block b-1's output. `input` must be
  // the value feeding block a and hold at least the rows band_geometry() says
  // are needed (a whole frame is fine). Returns exactly rows `out`.
  Result<Tensor> run_band(int a, int b, Rows out, const Tensor& input);
  // Drops every cached band program and its buffers (kernels stay).
  void drop_programs();

 private:
  struct Program;
  Executor(graph::Graph g, ExecOptions opt);
  Result<Program*> program(int a, int b, Rows out);
  Result<std::unique_ptr<Program>> build_program(int a, int b, Rows out);
  Status check_holds(const graph::Node& node, int k, const BandView& v, Rows rows) const;

  graph::Graph g_;
  ExecOptions opt_;
  std::vector<graph::Block> blocks_;
  std::vector<std::unique_ptr<Kernel>> kernels_;  // per node id (null for the input)
  pthreadpool_t pool_ = nullptr;
  std::map<std::tuple<int, int, int, int>, std::unique_ptr<Program>> programs_;
};

}  // namespace coinfer::kernels
