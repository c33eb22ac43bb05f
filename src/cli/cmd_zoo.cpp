// coinfer zoo list | zoo export NAME -o FILE.onnx
#include <cstdio>

#include "cli/cli.h"
#include "onnx/importer.h"
#include "zoo/zoo.h"

namespace coinfer::cli {

void register_zoo(CLI::App& app) {
  auto* cmd = app.add_subcommand("zoo", "Built-in models with seeded random weights");
  cmd->require_subcommand(1);
  auto* list = cmd->add_subcommand("list", "List the built-in models");
  list->callback([] {
    for (const zoo::ZooEntry& e : zoo::list())
      std::printf("%-14s %s\n", e.name.c_str(), e.description.c_str());
  });
  auto* exp = cmd->add_subcommand("export", "Write a built-in model as ONNX");
  auto name = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto seed = std::make_shared<uint64_t>(42);
  exp->add_option("name", *name, "model name (see zoo list)")->required();
  exp->add_option("-o,--output", *out, "ONNX file to write")->required();
  exp->add_option("--seed", *seed, "weight seed");
  exp->callback([=] {
    graph::Graph g = unwrap(zoo::build(*name, *seed));
    check(onnx_io::save_onnx(g, *out));
    std::fprintf(stderr, "wrote %s (%s -> %s)\n", out->c_str(), g.input_shape().str().c_str(),
                 g.output_shape().str().c_str());
  });
}

}  // namespace coinfer::cli
