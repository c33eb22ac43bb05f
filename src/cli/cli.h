// Shared pieces of the subcommands: each cmd_*.cpp registers one subcommand.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "core/status.h"

namespace coinfer::cli {

void register_inspect(CLI::App& app);
void register_infer(CLI::App& app);
void register_bench(CLI::App& app);
void register_zoo(CLI::App& app);
void register_demo(CLI::App& app);
void register_profile(CLI::App& app);
void register_worker(CLI::App& app);
void register_run(CLI::App& app);
void register_cluster(CLI::App& app);
void register_simulate(CLI::App& app);
void register_plan(CLI::App& app);
void register_train(CLI::App& app);
void register_keygen(CLI::App& app);

// Thrown by a subcommand to end with a one-line error and exit code 1.
struct Failure {
  std::string message;
};
// Throws Failure if `st` is an error.
void check(const Status& st);
template <typename T>
T unwrap(Result<T> r) {
  check(r.status());
  return std::move(r).value();
}

// Median, mean, min and p95 of a sample (milliseconds).
struct Summary {
  double min = 0, median = 0, mean = 0, p95 = 0;
};
Summary summarize(std::vector<double> ms);

}  // namespace coinfer::cli
