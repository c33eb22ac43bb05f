// Duty-cycle slowdown: emulates a device K times slower than this one, with
// no root and no cgroup. After each task the worker sleeps until
// start + K * (CPU time the task used), so a task that computed for 10 ms of
// CPU occupies the worker for 10*K ms. Accurate to a few percent for tasks of
// 1 ms or more (measured on the project machine). Call set_timer_slack()
// once on the thread that sleeps (timer slack is per thread).
//
// CPU time is the calling thread's (CLOCK_THREAD_CPUTIME_ID), exact when the
// kernels run on that thread (--threads 1). With a thread pool the work is
// spread over threads this clock cannot see, so `wall` mode scales the task's
// wall time instead.
#pragma once

#include <cstdint>

namespace coinfer::runtime {

int64_t steady_now_ns();      // CLOCK_MONOTONIC (= std::chrono::steady_clock), ns
int64_t thread_cpu_now_ns();  // CLOCK_THREAD_CPUTIME_ID, ns
// Milliseconds a poll waits from now_ns until until_ns: rounded up (a wait of
// under 1 ms as a 0 ms poll spins the loop until then), and >= 0.
int poll_timeout_ms(int64_t until_ns, int64_t now_ns);
void set_timer_slack();       // prctl(PR_SET_TIMERSLACK, 1): 1 ns slack

class DutyCycle {
 public:
  // k >= 1; k == 1 never sleeps.
  explicit DutyCycle(double k, bool wall = false) : k_(k), wall_(wall) {}
  void begin();
  // Sleeps until begin + k * (CPU or wall time since begin()).
  void end();
  double k() const { return k_; }

 private:
  double k_;
  bool wall_;
  int64_t wall0_ = 0, cpu0_ = 0;
};

}  // namespace coinfer::runtime
