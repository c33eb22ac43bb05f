// coinfer infer MODEL --input X.npy --output Y.npy [--threads N] [--backend B]
#include <cstdio>

#include "cli/cli.h"
#include "kernels/executor.h"
#include "model/load.h"

namespace coinfer::cli {

namespace {

struct InferArgs {
  std::string model, input, output;
  std::string backend = kernels::backend_name(kernels::kDefaultBackend);
  int threads = 1;
};

void infer(const InferArgs& a) {
  kernels::Backend be = unwrap(kernels::parse_backend(a.backend));
  graph::Graph g = unwrap(model::load(a.model));
  Tensor x = unwrap(read_npy(a.input));
  if (x.shape.c != g.input_shape().c || x.shape.h != g.input_shape().h ||
      x.shape.w != g.input_shape().w)
    check(errorf("input '{}': shape {} does not match the model's input {}", a.input,
                 x.shape.str(), g.input_shape().str()));
  auto ex = unwrap(kernels::Executor::create(std::move(g), {be, a.threads}));
  Tensor y = unwrap(ex->run(x));
  check(write_npy(a.output, y));
  std::fprintf(stderr, "wrote %s %s\n", a.output.c_str(), y.shape.str().c_str());
}

}  // namespace

void register_infer(CLI::App& app) {
  auto* cmd = app.add_subcommand("infer", "Run one inference: .npy (NCHW float32) in and out");
  auto a = std::make_shared<InferArgs>();
  cmd->add_option("model", a->model, "ONNX file or zoo:NAME")->required();
  cmd->add_option("--input", a->input, "input tensor (.npy, NCHW float32)")->required();
  cmd->add_option("--output", a->output, "where to write the output (.npy)")->required();
  cmd->add_option("--threads", a->threads, "threads")->check(CLI::Range(1, 256));
  cmd->add_option("--backend", a->backend, "xnnpack | onednn | reference (default: onednn)");
  cmd->callback([a] { infer(*a); });
}

}  // namespace coinfer::cli
