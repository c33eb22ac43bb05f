// coinfer: cooperative CNN inference on a cluster of edge devices.
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "cli/cli.h"

namespace coinfer::cli {

void check(const Status& st) {
  if (!st.ok()) throw Failure{st.message()};
}

Summary summarize(std::vector<double> ms) {
  Summary s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.min = ms.front();
  size_t n = ms.size();
  s.median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  s.mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(n);
  s.p95 = ms[std::min(n - 1, size_t(double(n) * 0.95))];
  return s;
}

}  // namespace coinfer::cli

int main(int argc, char** argv) {
  using namespace coinfer::cli;
  CLI::App app{"coinfer: one CNN inference, cooperatively, on a cluster of edge devices"};
  app.require_subcommand(1);
  register_inspect(app);
  register_infer(app);
  register_bench(app);
  register_zoo(app);
  register_demo(app);
  register_profile(app);
  register_worker(app);
  register_run(app);
  register_cluster(app);
  register_simulate(app);
  register_plan(app);
  register_train(app);
  register_keygen(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const Failure& f) {
    std::fprintf(stderr, "error: %s\n", f.message.c_str());
    return 1;
  }
  return 0;
}
