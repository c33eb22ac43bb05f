// CostModel: how long a device takes to run a band, and how long a transfer
// takes. Compute comes from profiled, non-linear latency tables (per block,
// seconds as a function of output rows, measured by `coinfer profile device`)
// scaled by each device's speed factor; transfers from the cluster's links.
//
//   CostModel cm = CostModel::create(graph, blocks, cluster, profile).value();
//   double s = cm.band_seconds(dev, geo);   // halo-expanded work of a band
#pragma once

#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "graph/blocks.h"

namespace coinfer::cost {

// Latency of one block on one device as a function of the number of output
// rows it computes: measured points, interpolated piecewise-linearly (and
// extrapolated through the origin-free segment below the first point).
struct BlockTable {
  std::vector<int> rows;         // ascending, >= 1
  std::vector<double> seconds;   // median latency at each row count
  double at(double r) const;     // interpolated seconds for r rows (0 -> 0)
};

// A device profile for one model: one table per block (JSON on disk).
struct Profile {
  std::string model;   // graph name it was measured on
  std::string host;    // where it was measured
  int threads = 1;
  int version = 1;
  std::vector<BlockTable> blocks;
  double whole_seconds = 0;  // whole-model latency measured on the same host
  // Version 2. cut_seconds[k] (k >= 1; [0] = 0): what running blocks k-1 and k
  // in one band saves against two bands, at full rows: the executor's work at
  // a band's edges (reorders of the value between them out of and into the
  // kernels' layouts, band buffers), which every block timed on its own pays.
  // Empty: nothing (version 1, analytic profiles).
  std::vector<double> cut_seconds;
  // CPU seconds per byte of band a worker receives or sends (the transport:
  // decoding, CURVE, the kernel's TCP). 0: not measured.
  double io_seconds_per_byte = 0;
};

Result<Profile> parse_profile(const std::string& json_text, const std::string& what);
Result<Profile> load_profile(const std::string& path);
std::string to_json(const Profile& p);

// Builds an analytic profile from FLOPs and bytes at `gflops` and `gbps`,
// for devices without a measured profile (documented as an estimate).
Profile analytic_profile(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                         double gflops, double gbytes_per_s);

// Measures a profile on this machine: for each block, run it at several
// output row counts (`points` of them, from 1 row to the whole; bands are
// centred in the frame so they pay interior halos on both sides), `repeats`
// times each, and keep the median.
// A shared host hiccups for a second at a time: blocks timed during one and
// their pairs timed outside it gave cuts of 65 ms on a 72 ms resnet34 (blocks
// 106.6 ms, less cuts 41.5, whole pass 71.6), and the simulator predicted
// that device 62% too fast. So the whole measurement is repeated, up to
// kProfileAttempts times, while its blocks less cuts are more than
// kProfileTolerance from its whole pass, and the most consistent is kept.
Result<Profile> measure_profile(const graph::Graph& g, int threads, int points, int repeats);
inline constexpr int kProfileAttempts = 3;
inline constexpr double kProfileTolerance = 0.08;
// (blocks at full rows - cuts - whole) / whole; 0 without a whole time.
double profile_inconsistency(const Profile& p);

class CostModel {
 public:
  // `reference`: the profile speed factors are relative to (used for devices
  // whose spec names no profile file of its own).
  static Result<CostModel> create(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                                  const cluster::ClusterSpec& c, const Profile& reference);

  // Seconds for device `d` to compute a band (task_seconds of the rows the
  // geometry gives every block, halo included).
  double band_seconds(int d, const graph::BandGeometry& geo) const;
  // Seconds for device d to run blocks [a, b) as one task: block k producing
  // rows[k - a] output rows from in_rows rows of block a's input. The blocks'
  // profiled times, less the cuts inside the task, plus receiving the input
  // and sending the output.
  double task_seconds(int d, int a, int b, const int* rows, int in_rows) const;
  // Seconds for device d to run block k producing `rows` output rows: its
  // profiled time alone (both band edges paid, the transport not).
  double block_seconds(int d, int k, double rows) const;
  // Seconds device d saves by running blocks k-1 and k in one task, for `rows`
  // rows of the value between them.
  double cut_seconds(int d, int k, double rows) const;
  // CPU seconds device d spends receiving or sending `bytes` of band.
  double io_seconds(int d, double bytes) const;
  // Transfer time of `bytes` from device i to j (i == j: 0); -1 = the source.
  double transfer_seconds(int i, int j, double bytes) const;
  // Device capacity in FLOP/s on this model (whole-model FLOPs / whole time).
  double flops_per_s(int d) const;

  const cluster::ClusterSpec& cluster() const { return c_; }
  const graph::Graph& graph() const { return *g_; }
  const std::vector<graph::Block>& blocks() const { return *blocks_; }
  double model_flops() const { return model_flops_; }

 private:
  const graph::Graph* g_ = nullptr;
  const std::vector<graph::Block>* blocks_ = nullptr;
  cluster::ClusterSpec c_;
  std::vector<Profile> profiles_;  // per device (speed already applied below)
  std::vector<double> speed_;      // per device
  std::vector<double> in_row_bytes_, out_row_bytes_;  // per block: one row of its input, output
  double model_flops_ = 0;
};

}  // namespace coinfer::cost
