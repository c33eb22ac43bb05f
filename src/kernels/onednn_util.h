// Shared oneDNN plumbing: one CPU engine per process, one stream per thread,
// OpenMP thread count, fused activations as eltwise post-ops.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include "core/status.h"
#include "graph/graph.h"
#include "kernels/kernel.h"

namespace coinfer::kernels {

dnnl::engine& onednn_engine();
// oneDNN streams are not thread-safe: one per calling thread.
dnnl::stream& onednn_stream();

// Makes oneDNN's OpenMP regions started from this thread use the thread
// count of the context (ExecOptions::threads). The
// OpenMP thread count is a per-thread setting, so it is set on every run.
void onednn_set_threads(const Context& ctx);
void onednn_set_threads(int threads);

// Post-ops computing the node's fused activation (all of Act). Every
// activation is elementwise, so band and whole runs get identical values.
dnnl::primitive_attr onednn_attr(const graph::Node& n);

}  // namespace coinfer::kernels
