// Plan: the artefact planners write, the simulator predicts and the runtime
// executes. JSON, versioned (schema in docs/PLAN.md).
//
// A plan is an ordered list of stages (a pipeline). A stage runs a contiguous
// block range [first_block, last_block) and splits that range's output among
// its devices: each assignment is a region of the output of block
// last_block-1 (a row range, optionally a column range for grid tiling).
// Every device of a stage runs the whole block range on its own region, with
// halo rows recomputed. The regions of a stage must tile the output exactly.
//
// Interleaved pipelines: a plan may hold several pipelines over the same
// devices (stages carry "pipeline": k, numbered 0, 1, ... in contiguous
// groups; each pipeline chains from block 0 to the last block on its own).
// Frame f runs pipeline f mod K. Pipelines that move a stage boundary by a
// block on some frames give each device a fractional share of that block on
// average: a balance that block boundaries alone cannot reach
// (planners/interleave.cpp, docs/PLAN.md).
#pragma once

#include <string>
#include <vector>

#include "cluster/cluster.h"
#include "core/tensor.h"
#include "graph/blocks.h"

namespace coinfer::plan {

constexpr int kPlanVersion = 1;

struct Assignment {
  std::string device;
  Rows rows;        // output rows of the stage's last block
  Rows cols{0, 0};  // empty = all columns
  bool all_cols() const { return cols.empty(); }
  bool operator==(const Assignment&) const = default;
};

struct Stage {
  int first_block = 0;
  int last_block = 0;  // exclusive
  std::vector<Assignment> parts;
  int pipeline = 0;  // which of the plan's interleaved pipelines (0 if one)
  bool operator==(const Stage&) const = default;
};

struct Plan {
  int version = kPlanVersion;
  std::string model;     // graph name, for humans and checks
  std::string strategy;  // planner that wrote it
  std::vector<Stage> stages;
  bool operator==(const Plan&) const = default;
};

// The stage index range [lo, hi) of each pipeline, in order, or an error
// naming the first stage whose pipeline number breaks the rule (numbered 0,
// 1, ... in contiguous groups). Frame f runs pipeline f % spans.size().
Result<std::vector<Rows>> pipeline_spans(const Plan& p);
// Stages of the longest pipeline: the stage count of a one-pipeline plan
// (and of a plan whose pipeline numbers are invalid).
int depth(const Plan& p);
// Frames a closed loop keeps in flight unless told: depth + pipelines, i.e.
// one frame waiting at the head of each pipeline (stages + 1 for a plain
// pipeline). Interleaved pipelines balance a device's load only over their K
// frames; on the quota testbed resnet34's three pipelines ran 2-3% faster
// with 8 frames than with stages + 1 = 5 (docs/BENCHMARKS.md, 2026-12-03).
int default_in_flight(const Plan& p);

// Checks the plan against a model and a cluster: stages cover all blocks in
// order (each pipeline's); each stage's regions tile its output (no gap, no overlap); regions
// lie within the output; non-partitionable blocks are not split; devices
// exist; each device's memory holds its weights and buffers. Returns one
// message per violation (empty = valid).
std::vector<std::string> validate(const Plan& p, const graph::Graph& g,
                                  const std::vector<graph::Block>& blocks,
                                  const cluster::ClusterSpec& c);

// Bytes a device needs for one assignment (an estimate of the executor's
// footprint, not a measurement):
//   weights = 4 * (weight + bias floats) of every node in the stage's blocks;
//   buffers = 4 * (alloc rows x row elements) of the band's input value plus
//             the two largest node buffers of the band (band_geometry's
//             `alloc` rows, halo and zero padding rows included). The executor
//             keeps every buffer of a cached program, so this is a lower bound
//             on its peak; it models an executor that frees a value after its
//             last consumer. A column-restricted part scales the buffers by
//             cols / W (column halos ignored).
// An invalid block range counts nothing; rows outside the output count the
// weights only; validate() reports both separately.
struct MemoryUse {
  double weights = 0;  // bytes
  double buffers = 0;  // bytes
  double total() const { return weights + buffers; }
};
MemoryUse memory_use(const graph::Graph& g, const std::vector<graph::Block>& blocks, const Stage& s,
                     const Assignment& a);
double memory_bytes(const graph::Graph& g, const std::vector<graph::Block>& blocks, const Stage& s,
                    const Assignment& a);
// A device's total over its parts in the plan. A part repeated by interleaved
// pipelines (same blocks and region) counts once: the worker runs repeats on
// one executor.
MemoryUse device_memory_use(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                            const Plan& p, const std::string& device);

// Strict: unknown keys, wrong types, duplicate keys and bad ranges are
// one-line errors naming the field: "plan 'p.json': stages[1].parts[0].rows=[5,3]:
// must be [lo, hi) with lo < hi". Checks structure only; validate() checks the
// plan against a model and a cluster.
Result<Plan> parse(const std::string& json_text, const std::string& what);
Result<Plan> load(const std::string& path);
std::string to_json(const Plan& p);

// The one-stage, one-device plan (whole model on `device`).
Plan single_device_plan(const graph::Graph& g, const std::vector<graph::Block>& blocks,
                        const std::string& device);

}  // namespace coinfer::plan
