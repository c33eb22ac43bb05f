#include "runtime/slowdown.h"

#include <algorithm>
#include <cstdint>

#include <sys/prctl.h>
#include <time.h>

#include <cerrno>

namespace coinfer::runtime {

namespace {

int64_t now(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

int64_t steady_now_ns() { return now(CLOCK_MONOTONIC); }
int poll_timeout_ms(int64_t until_ns, int64_t now_ns) {
  if (until_ns <= now_ns) return 0;
  return int(std::min<int64_t>((until_ns - now_ns + 999'999) / 1'000'000, INT32_MAX));
}

int64_t thread_cpu_now_ns() { return now(CLOCK_THREAD_CPUTIME_ID); }

void set_timer_slack() { prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }

void DutyCycle::begin() {
  wall0_ = steady_now_ns();
  cpu0_ = wall_ ? wall0_ : thread_cpu_now_ns();
}

void DutyCycle::end() {
  if (k_ <= 1.0) return;
  int64_t used = (wall_ ? steady_now_ns() : thread_cpu_now_ns()) - cpu0_;
  int64_t until = wall0_ + int64_t(k_ * double(used));
  timespec ts{};
  ts.tv_sec = until / 1000000000;
  ts.tv_nsec = until % 1000000000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

}  // namespace coinfer::runtime
