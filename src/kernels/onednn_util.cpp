#include "kernels/onednn_util.h"

#include <dlfcn.h>

#include <algorithm>

namespace coinfer::kernels {

dnnl::engine& onednn_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& onednn_stream() {
  thread_local dnnl::stream s(onednn_engine());
  return s;
}

namespace {

// The Debian oneDNN uses the OpenMP runtime (libgomp, loaded with libdnnl).
// We look its entry points up at run time rather than linking libgomp
// ourselves: the same library oneDNN uses, whatever it is.
using SetFn = void (*)(int);
using GetFn = int (*)();
// What `#pragma omp parallel` compiles to with GCC (libgomp >= 4.9).
using ParallelFn = void (*)(void (*)(void*), void*, unsigned, unsigned);
struct Omp {
  SetFn set = nullptr;
  GetFn get = nullptr, thread_num = nullptr, num_threads = nullptr;
  ParallelFn parallel = nullptr;
  Omp() {
    set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    thread_num = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "omp_get_thread_num"));
    num_threads = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "omp_get_num_threads"));
    parallel = reinterpret_cast<ParallelFn>(dlsym(RTLD_DEFAULT, "GOMP_parallel"));
  }
  bool can_split() const { return parallel && thread_num && num_threads; }
};

const Omp& omp() {
  static const Omp o;
  return o;
}

struct Job {
  void (*fn)(void*, size_t, size_t);
  void* arg;
  size_t n;
};

void run_chunk(void* data) {
  const Job& j = *static_cast<const Job*>(data);
  const size_t t = size_t(omp().thread_num()), T = size_t(std::max(1, omp().num_threads()));
  const size_t lo = j.n * t / T, hi = j.n * (t + 1) / T;
  if (lo < hi) j.fn(j.arg, lo, hi);
}

}  // namespace

bool omp_parallel(size_t n, void (*fn)(void*, size_t, size_t), void* arg, int threads) {
  if (!omp().can_split()) return false;
  Job j{fn, arg, n};
  omp().parallel(run_chunk, &j, unsigned(threads), 0);
  return true;
}

void onednn_set_threads(const Context& ctx) {
  onednn_set_threads(ctx.threads);
}

void onednn_set_threads(int want) {
  thread_local int current = -1;
  if (want == current || !omp().set) return;
  omp().set(want);
  current = want;
}

dnnl::primitive_attr onednn_attr(const graph::Node& n) {
  using dnnl::algorithm;
  dnnl::post_ops po;
  switch (n.act) {
    case graph::Act::None:
    case graph::Act::Count:
      break;
    case graph::Act::Relu:
      po.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      break;
    case graph::Act::Clip:
      po.append_eltwise(1.f, algorithm::eltwise_clip, n.act_min, n.act_max);
      break;
    case graph::Act::LeakyRelu:
      po.append_eltwise(1.f, algorithm::eltwise_relu, n.alpha, 0.f);
      break;
    case graph::Act::Sigmoid:
      po.append_eltwise(1.f, algorithm::eltwise_logistic, 0.f, 0.f);
      break;
  }
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  return attr;
}

}  // namespace coinfer::kernels
