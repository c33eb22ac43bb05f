// The adaptive run loop (adaptive.h): one deployment per plan, the stream
// control block carried from one to the next.
//
// Monitoring [ours]:
//   arrival rate: frames whose arrival fell in the last rate_window_s;
//   device speed: each worker's mean task time per part (its stats, fetched
//     every stats_s) over the cost model's prediction for that part; the ratio
//     is taken relative to the median over devices (the model's absolute scale
//     does not matter to a planner, only who is faster), and a device whose
//     relative ratio is off by more than `drift` gets its speed factor divided
//     by it; the median ratio itself scales the M/D/1 figures of the mode rule;
//   links: transfer times of bands a waiting worker read (link_samples).
// Mode rule (strategy apico): with period p and latency t of the pipeline
// (pico) and the one-stage plan (aofl) from the planners' flow estimate,
// scaled by the median ratio, the M/D/1 response at the measured rate; the
// other mode must be better by `hysteresis`.
#include "runtime/adaptive.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>
#include <optional>

#include "net/transport.h"
#include "runtime/session.h"
#include "runtime/slowdown.h"
#include "sim/simulator.h"

namespace coinfer::runtime {

namespace {

// The devices still in play, with corrected speeds and measured links.
cluster::ClusterSpec live_cluster(const cluster::ClusterSpec& c, const std::vector<bool>& alive,
                                  const std::vector<double>& scale,
                                  const std::vector<double>& link) {
  cluster::ClusterSpec l = c;
  l.devices.clear();
  l.links.clear();
  for (size_t d = 0; d < c.devices.size(); ++d) {
    if (!alive[d]) continue;
    l.devices.push_back(c.devices[d]);
    l.devices.back().speed *= scale[d];
    if (link[d] > 0) l.devices.back().link_bps = link[d];
  }
  for (const cluster::Link& k : c.links)
    if (l.find(k.a) >= 0 && l.find(k.b) >= 0) l.links.push_back(k);
  if (!l.source.empty() && l.source != cluster::kExternalSource && l.find(l.source) < 0)
    l.source = cluster::kExternalSource;
  return l;
}

std::string describe(const plan::Plan& p) {
  std::string s = p.strategy + ":";
  for (const plan::Stage& st : p.stages) {
    s += " [";
    for (size_t i = 0; i < st.parts.size(); ++i) s += (i ? "," : "") + st.parts[i].device;
    s += "]";
  }
  return s;
}

enum class Mode { Pipeline, OneStage };

// A lost worker asked to Hello again and again until it answers.
struct Probe {
  std::optional<net::Socket> sock;
  int64_t next_ns = 0;
};

class Controller {
 public:
  Controller(const graph::Graph& g, const cluster::ClusterSpec& c, const AdaptiveOptions& o)
      : g_(g), c_(c), o_(o), blocks_(graph::find_blocks(g)) {}

  Result<AdaptiveReport> run() {
    RETURN_IF_ERROR(check());
    const int n = schedule();
    ctl_.frames.assign(size_t(n), FrameRecord{});
    for (int f = 0; f < n; ++f) ctl_.queue.push_back(uint64_t(f));
    ctl_.heartbeat_s = o_.heartbeat_s;
    ctl_.dead_after_s = o_.dead_after_s;
    ctl_.max_attempts = o_.max_attempts;
    rep_.run.outputs.assign(size_t(n), Tensor());
    alive_.assign(c_.devices.size(), true);
    scale_.assign(c_.devices.size(), 1.0);
    link_.assign(c_.devices.size(), 0.0);
    std::string reason = "start";
    while (!ctl_.queue.empty()) {
      if (std::none_of(alive_.begin(), alive_.end(), [](bool a) { return a; })) {
        fail_rest("no devices left: every worker is lost");
        break;
      }
      Status st = epoch(reason);
      if (!st.ok()) return st;
    }
    finish();
    return std::move(rep_);
  }

 private:
  Status check() const {
    if (o_.heartbeat_s <= 0 || o_.dead_after_s <= o_.heartbeat_s)
      return errorf("adaptive: dead-after {:g} s must exceed the heartbeat period {:g} s",
                    o_.dead_after_s, o_.heartbeat_s);
    if (o_.max_attempts < 1) return errorf("adaptive: max attempts {}: must be >= 1", o_.max_attempts);
    if (!(o_.drift > 0) || !(o_.link_drop > 1))
      return errorf("adaptive: drift {:g} must be > 0 and link drop {:g} > 1", o_.drift, o_.link_drop);
    for (const auto& [frames, rate] : o_.phases)
      if (frames < 1 || !(rate > 0))
        return errorf("adaptive: phase {} frames at {:g}/s: needs frames >= 1 and a rate > 0",
                      frames, rate);
    for (const cluster::Device& d : c_.devices)
      if (d.address.empty())
        return errorf("device '{}': no address in cluster '{}' (the worker's control endpoint)",
                      d.name, c_.name);
    return ok_status();
  }

  // Arrival times (seconds after the first); returns the number of frames.
  int schedule() {
    if (o_.phases.empty()) {
      if (o_.run.rate > 0)
        for (int f = 0; f < o_.run.frames; ++f) ctl_.arrival_s.push_back(f / o_.run.rate);
      return o_.run.frames;
    }
    double t = 0;
    for (const auto& [frames, rate] : o_.phases)
      for (int f = 0; f < frames; ++f, t += 1 / rate) ctl_.arrival_s.push_back(t);
    return int(ctl_.arrival_s.size());
  }

  double now_s() const { return ctl_.t0_ns ? double(steady_now_ns() - ctl_.t0_ns) * 1e-9 : 0; }

  // Frames per second that arrived in the last window (infinite: closed loop).
  double arrival_rate() const { return arrival_rate(o_.rate_window_s); }
  double arrival_rate(double window_s) const {
    if (ctl_.arrival_s.empty()) return INFINITY;
    const double t = now_s(), lo = std::max(0.0, t - window_s);
    auto a = std::lower_bound(ctl_.arrival_s.begin(), ctl_.arrival_s.end(), lo);
    auto b = std::upper_bound(ctl_.arrival_s.begin(), ctl_.arrival_s.end(), t);
    if (t - lo <= 0.05) {  // nothing measured yet: the first frames' spacing
      if (ctl_.arrival_s.size() < 2) return 0;
      return 1 / std::max(1e-9, ctl_.arrival_s[1] - ctl_.arrival_s[0]);
    }
    return double(b - a) / (t - lo);
  }

  // Plans for the live devices; for apico both modes, the one to run chosen
  // by M/D/1 at the measured rate (the current mode kept unless the other is
  // better by the hysteresis).
  Result<plan::Plan> choose(const cost::CostModel& cm, std::string* why) {
    if (o_.strategy != "apico") return planners::make_plan(o_.strategy, cm, o_.planner);
    // A mode switch keeps the cluster as it was: both plans stand.
    auto inputs = std::make_tuple(alive_, scale_, link_);
    if (!planned_for_ || *planned_for_ != inputs) {
      ASSIGN_OR_RETURN(pipeline_, planners::make_plan("pico", cm, o_.planner));
      ASSIGN_OR_RETURN(one_stage_, planners::make_plan("aofl", cm, o_.planner));
      est_pipe_ = planners::estimate(cm, pipeline_);
      est_one_ = planners::estimate(cm, one_stage_);
      planned_for_ = inputs;
    }
    // The first mode by the model; then a mode changes only when the
    // measured rule asked for it (mode_switch), other re-plans keep it.
    if (!chosen_) mode_ = preferred(arrival_rate(), why);
    if (flip_mode_) mode_ = mode_ == Mode::Pipeline ? Mode::OneStage : Mode::Pipeline;
    flip_mode_ = false;
    chosen_ = true;
    return mode_ == Mode::Pipeline ? pipeline_ : one_stage_;
  }

  // The mode the model prefers at `rate` (the first choice; measurements
  // decide later, mode_switch); `why` says the figures.
  Mode preferred(double rate, std::string* why) const {
    ModeChoice m = choose_mode(est_pipe_, est_one_, rate, time_scale_, std::nullopt, 0);
    auto fmt_s = [](double v) { return std::isfinite(v) ? fmt::format("{:.3f} s", v) : "inf"; };
    if (why)
      *why = fmt::format("load {:.2f}/s: M/D/1 response pipeline {}, one-stage {}", rate,
                         fmt_s(m.pipeline_s), fmt_s(m.one_stage_s));
    return m.pipeline ? Mode::Pipeline : Mode::OneStage;
  }

  // This deployment's recent figures: the mean response (arrival -> done)
  // of the last kMinResponses completed frames that arrived during it,
  // completions in the last rate
  // window per second, and the backlog (frames arrived, not done).
  struct Recent {
    double response_s = 0;
    int responses = 0;
    double done_per_s = 0;
    int backlog = 0;
  };
  Recent recent(int64_t now) const {
    Recent r;
    const int64_t lo = std::max(epoch_start_ns_, now - int64_t(o_.rate_window_s * 1e9));
    std::vector<std::pair<int64_t, double>> latest;  // (done, response) of this plan's frames
    int in_window = 0;
    for (size_t f = 0; f < ctl_.frames.size(); ++f) {
      const FrameRecord& fr = ctl_.frames[f];
      if (fr.done) {
        // Responses of frames that arrived during this plan and since its
        // backlog was last drained: frames that waited behind a backlog
        // (inherited from the previous plan, or a burst) measure queueing,
        // not this plan.
        if (fr.issued_ns >= std::max(epoch_start_ns_, calm_since_ns_))
          latest.push_back({fr.done_ns, double(fr.done_ns - fr.issued_ns) * 1e-9});
        if (fr.done_ns >= lo) ++in_window;
      } else if (!fr.failed && (ctl_.arrival_s.empty() || ctl_.arrival_s[f] <= now_s())) {
        ++r.backlog;
      }
    }
    if (now > lo) r.done_per_s = in_window / (double(now - lo) * 1e-9);
    std::sort(latest.begin(), latest.end());
    double sum = 0;
    for (size_t i = latest.size() > size_t(kMinResponses) ? latest.size() - kMinResponses : 0;
         i < latest.size(); ++i, ++r.responses)
      sum += latest[i].second;
    if (r.responses) r.response_s = sum / r.responses;
    return r;
  }

  // The mode rule on measurements. Saturated (more arrive than complete and
  // a backlog builds): switch if the other mode's period, in the model's
  // ratio to this one's, promises more capacity than measured here. While a
  // backlog drains, nothing else is judged. Else:
  // this mode's measured response against the other's model figure times
  // its measured / model ratio from when it last ran unsaturated (time
  // scale only if it never did), unless the other saturated below this rate
  // before; the other must win by the hysteresis.
  bool mode_switch(double rate, int64_t now, std::string* why) {
    const Recent r = recent(now);
    const planners::Estimate& ce = mode_ == Mode::Pipeline ? est_pipe_ : est_one_;
    const planners::Estimate& oe = mode_ == Mode::Pipeline ? est_one_ : est_pipe_;
    const char* other_name = mode_ == Mode::Pipeline ? "one-stage plan" : "pipeline";
    const int k = plan::depth(session_->plan) + 1;
    // Completions are counted over a rate window of this plan.
    const bool judged = now - epoch_start_ns_ >= int64_t(o_.rate_window_s * 1e9);
    const bool saturated = judged && r.backlog > 2 * k && std::isfinite(rate) &&
                           r.done_per_s < 0.9 * rate;
    if (saturated) {
      const double other_cap =
          r.done_per_s * service_period(ce, mode_ == Mode::OneStage) /
          std::max(1e-12, service_period(oe, mode_ == Mode::Pipeline));
      *why = fmt::format("load {:.2f}/s: {} frames waiting, {:.2f}/s completing; the {} should "
                         "complete {:.2f}/s", rate, r.backlog, r.done_per_s, other_name, other_cap);
      capacity_[mode_ == Mode::Pipeline ? 0 : 1] = r.done_per_s;  // what saturated it
      return other_cap > r.done_per_s * (1 + o_.hysteresis);
    }
    if (r.backlog > k) {  // draining a backlog: responses are queueing, not service
      calm_since_ns_ = now;
      return false;
    }
    if (r.responses < kMinResponses) return false;
    const int ci = mode_ == Mode::Pipeline ? 0 : 1;
    auto response = [&](int mode, double scale, double at) {
      const planners::Estimate& e = mode == 0 ? est_pipe_ : est_one_;
      return md1_wait_response_s(service_period(e, mode == 1) * scale, e.latency_s * scale, at);
    };
    // The time scale at which the model gives the measured response (the
    // response grows with the scale: bisection in log space). Only while the
    // rate holds still (its last half window within 20% of the window): in a
    // ramp, the responses and the window's rate are of different loads.
    const double half = arrival_rate(o_.rate_window_s / 2);
    const bool steady = std::isfinite(rate) && std::fabs(half - rate) <= 0.2 * rate;
    double lo = std::log(1e-3), hi = std::log(1e3);
    if (steady && response(ci, std::exp(lo), rate) <= r.response_s &&
        response(ci, std::exp(hi), rate) >= r.response_s) {
      for (int i = 0; i < 50; ++i) {
        double mid = 0.5 * (lo + hi);
        (response(ci, std::exp(mid), rate) < r.response_s ? lo : hi) = mid;
      }
      correction_[ci] = std::exp(0.5 * (lo + hi));
    }
    // The other mode's model, its period and latency scaled by what it
    // measured against the model when it last ran calm.
    // A mode that never ran calm takes this one's scale: the task-level time
    // scale says how fast the devices are, not how far a plan's response is
    // from its model (resnet34: tasks 0.45x the model, responses 1.12x; with
    // 0.45 the untried pipeline looked better at 2/s and the rule flapped).
    const double other_scale = correction_[1 - ci] > 0 ? correction_[1 - ci]
                               : correction_[ci] > 0   ? correction_[ci]
                                                       : time_scale_;
    // A rising load counts at once (the last half window), a falling one
    // after a window. This mode is judged by the worse of its measured
    // response and its fitted model at that load: the model sees a queue
    // coming (the one-stage plan saturating) before the responses do.
    const double load = std::isfinite(half) ? std::max(rate, half) : rate;
    const double other = response(1 - ci, other_scale, load);
    const double here =
        correction_[ci] > 0 ? std::max(r.response_s, response(ci, correction_[ci], load))
                            : r.response_s;
    // The other mode saturated below this rate before: it would again.
    if (capacity_[1 - ci] > 0 && load > 0.9 * capacity_[1 - ci]) return false;
    auto fmt_s = [](double v) { return std::isfinite(v) ? fmt::format("{:.3f} s", v) : "inf"; };
    *why = fmt::format("load {:.2f}/s: response {} (measured {}) vs {} expected of the {} "
                       "(model x {:.2f})", load, fmt_s(here), fmt_s(r.response_s), fmt_s(other),
                       other_name, other_scale);
    const bool flip = other < here * (1 - o_.hysteresis);
    if (!flip && now >= next_log_ns_) {  // --verbose: the judgements that kept the mode, 1/s
      log(*why + " (kept)");
      next_log_ns_ = now + 1'000'000'000;
    }
    return flip;
  }

  // One deployment: plan, deploy, stream until done or a switch, tear down.
  Status epoch(std::string& reason) {
    cluster::ClusterSpec live = live_cluster(c_, alive_, scale_, link_);
    ASSIGN_OR_RETURN(cost::CostModel cm, cost::CostModel::create(g_, blocks_, live, o_.profile));
    std::string figures;
    ASSIGN_OR_RETURN(plan::Plan p, choose(cm, &figures));
    if (reason == "start" && o_.strategy == "apico")
      warm(mode_ == Mode::Pipeline ? one_stage_ : pipeline_, live);
    Session s(g_, p, live, o_.run);
    s.ctl = &ctl_;
    const int64_t t_deploy = steady_now_ns();
    Status st = open_session(s);
    if (!st.ok()) {
      // Someone did not answer or refused: find who, drop them, plan again.
      bool dropped = false;
      for (const Peer& peer : s.peers)
        if (!answers(c_.devices[size_t(c_.find(peer.device))])) {
          alive_[size_t(c_.find(peer.device))] = false;
          dropped = true;
          log(fmt::format("worker '{}' does not answer: left out", peer.device));
        }
      if (!dropped) return st;
      reason = "deploy failed: " + st.message();
      return ok_status();
    }
    const double deploy_s = double(steady_now_ns() - t_deploy) * 1e-9;
    if (ctl_.t0_ns == 0) {
      ctl_.t0_ns = steady_now_ns();
      rep_.t0_unix_s = std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
    }
    if (reason == "start" && o_.strategy == "apico") reason += " (" + figures + ")";
    rep_.switches.push_back({now_s(), reason, describe(p), deploy_s});
    log(fmt::format("t={:.2f} s: {} -> {} (deployed in {:.2f} s)", now_s(), rep_.switches.back().reason,
                    rep_.switches.back().plan, deploy_s));
    session_ = &s;
    cm_ = &cm;
    epoch_start_ns_ = steady_now_ns();
    next_stats_ns_ = epoch_start_ns_ + int64_t(o_.stats_s * 1e9);
    next_reason_.clear();
    speed_.clear();
    links_.clear();
    latest_.clear();
    predicted_.clear();
    ctl_.lost.clear();
    ctl_.stop = [this] { return tick(); };
    ctl_.on_control = [this](int i, net::Message& m) { on_control(i, m); };
    const uint64_t requeued = ctl_.requeued;
    st = stream_frames(s, rep_.run);
    ctl_.stop = nullptr;
    ctl_.on_control = nullptr;
    if (ctl_.lost.empty()) close_session(s);  // a lost worker cannot answer: just release the rest
    else release_only(s);
    rep_.reruns += ctl_.requeued - requeued;
    session_ = nullptr;
    cm_ = nullptr;
    RETURN_IF_ERROR(st);
    if (!ctl_.lost.empty()) {
      std::string who;
      for (const std::string& d : ctl_.lost) {
        alive_[size_t(c_.find(d))] = false;
        who += (who.empty() ? "'" : ", '") + d + "'";
      }
      reason = fmt::format("worker {} lost", who);
    } else {
      reason = next_reason_;
    }
    return ok_status();
  }

  // apico, before the stream starts: the mode not chosen is deployed once
  // and released, so that a switch to it later finds the model loaded and
  // the kernels compiled on the workers (resnet34's pipeline on the local
  // testbed: deployed in 0.06 s instead of 0.25-0.48). Best effort: a
  // failure here shows again, and is handled, when the mode is deployed.
  void warm(const plan::Plan& p, const cluster::ClusterSpec& live) {
    Session w(g_, p, live, o_.run);
    const int64_t t = steady_now_ns();
    if (!open_session(w).ok()) return;
    close_session(w);
    log(fmt::format("warmed {} in {:.2f} s", describe(p), double(steady_now_ns() - t) * 1e-9));
  }

  void release_only(Session& s) {
    for (Peer& p : s.peers) {
      if (std::find(ctl_.lost.begin(), ctl_.lost.end(), p.device) != ctl_.lost.end()) continue;
      (void)p.ctl->send(net::Deploy{s.deployment_id, "", "", "", p.device});
    }
  }

  // Called by the stream every turn: true = switch plans now.
  bool tick() {
    const int64_t now = steady_now_ns();
    if (!next_reason_.empty()) return true;
    // Lost workers coming back (or new ones) do not wait for the dwell time.
    for (size_t d = 0; d < c_.devices.size(); ++d) {
      if (alive_[d]) continue;
      Probe& pr = probes_[d];
      if (!pr.sock) {
        auto sock = net::connect_control(c_.devices[d].address, client_for(c_.devices[d]));
        if (!sock.ok()) continue;
        sock->stop_monitor();  // nobody drains its handshake events
        pr.sock.emplace(std::move(sock).value());
      }
      if (now >= pr.next_ns) {
        (void)pr.sock->send(net::Hello{net::kProtocolVersion, 0, "coordinator", 0, 0});
        pr.next_ns = now + int64_t(o_.probe_s * 1e9);
      }
      auto m = pr.sock->recv(0);
      if (m.ok() && *m && std::holds_alternative<net::HelloReply>(**m)) {
        alive_[d] = true;
        probes_.erase(d);
        return stop(fmt::format("worker '{}' answers again", c_.devices[d].name));
      }
    }
    if (now >= next_stats_ns_) {
      for (Peer& p : session_->peers) (void)p.ctl->send(net::WeightsRequest{stats_key(session_->deployment_id)});
      next_stats_ns_ = now + int64_t(o_.stats_s * 1e9);
    }
    if (double(now - last_switch_ns_) * 1e-9 < o_.min_dwell_s ||
        double(now - epoch_start_ns_) * 1e-9 < o_.min_dwell_s)
      return false;
    if (!drift_reason_.empty()) return stop(drift_reason_);
    if (o_.strategy == "apico" && now >= next_mode_check_ns_) {
      next_mode_check_ns_ = now + 250'000'000;
      std::string why;
      if (mode_switch(arrival_rate(), now, &why)) {
        flip_mode_ = true;
        return stop(why);
      }
    }
    return false;
  }

  bool stop(const std::string& why) {
    next_reason_ = why;
    last_switch_ns_ = steady_now_ns();
    drift_reason_.clear();
    return true;
  }

  // Worker stats: measured task time per part against the model. Per device,
  // the cumulative ratio (measured / predicted) scales the M/D/1 figures
  // (median over devices); the ratio of each stats window (since the
  // previous answer) against the first window of this deployment is the
  // drift: the moving average (0.3 per window of >= 8 tasks, the first
  // window of a plan skipped as warm-up) three windows in a row off by a
  // factor beyond 1 + `drift` corrects the device's speed.
  // Model error (the profile is off for some blocks) is in the baseline, so
  // only a change of speed triggers. Links: see link_samples.
  void on_control(int i, net::Message& m) {
    auto* w = std::get_if<net::Weights>(&m);
    if (!w || !session_ || w->hash != stats_key(session_->deployment_id)) return;
    auto st = parse_stats(std::string(w->bytes.begin(), w->bytes.end()));
    if (!st.ok()) return;
    const Peer& p = session_->peers[size_t(i)];
    WorkerStats& latest = latest_[p.device] = std::move(st).value();
    double measured = 0, predicted = 0;
    int tasks = 0;
    for (const TaskRecord& t : latest.tasks) {
      double pred = predicted_seconds(p.device, t.stage, t.part);
      if (pred <= 0) continue;
      measured += double(t.end_ns - t.start_ns) * 1e-9;
      predicted += pred;
      ++tasks;
    }
    link_samples(p.device);
    Speed& sp = speed_[p.device];
    const double dm = measured - sp.measured, dp = predicted - sp.predicted;
    if (tasks - sp.tasks < kWindowTasks || dp <= 0 || dm <= 0) return;  // too few to judge
    sp.measured = measured;
    sp.predicted = predicted;
    sp.tasks = tasks;
    sp.smooth = sp.smooth > 0 ? 0.7 * sp.smooth + 0.3 * dm / dp : dm / dp;
    std::vector<double> r;
    for (const auto& [d, v] : speed_)
      if (v.predicted > 0) r.push_back(v.measured / v.predicted);
    std::sort(r.begin(), r.end());
    time_scale_ = r[r.size() / 2];
    if (++sp.windows <= 1) {  // warm-up: lazily created kernels, cold caches
      sp.smooth = 0;
      return;
    }
    if (sp.baseline <= 0) {
      sp.baseline = sp.smooth;
      return;
    }
    const double rel = sp.smooth / sp.baseline;
    sp.off = rel > 1 + o_.drift || rel < 1 / (1 + o_.drift) ? sp.off + 1 : 0;
    if (sp.off >= 3 && drift_reason_.empty()) {
      scale_[size_t(c_.find(p.device))] /= rel;
      drift_reason_ = fmt::format("device '{}' now runs at {:.2f}x its speed earlier in this plan",
                                  p.device, 1 / rel);
    }
  }

  // The cost model's seconds for one task of (stage, part) on `device`.
  double predicted_seconds(const std::string& device, int stage, int part) {
    auto key = std::make_tuple(device, stage, part);
    auto it = predicted_.find(key);
    if (it != predicted_.end()) return it->second;
    double v = 0;
    if (stage >= 0 && size_t(stage) < session_->plan.stages.size()) {
      const plan::Stage& stg = session_->plan.stages[size_t(stage)];
      if (part >= 0 && size_t(part) < stg.parts.size()) {
        auto geo = graph::band_geometry(g_, blocks_, stg.first_block, stg.last_block,
                                        stg.parts[size_t(part)].rows);
        if (geo.ok()) v = cm_->band_seconds(session_->cluster.find(device), *geo);
      }
    }
    return predicted_[key] = v;
  }

  // Link rates [ours]: a band that a waiting worker read (ArrivalRecord::
  // waited) took (its arrival - the sender's task end, or the coordinator's
  // send for stage 0), both on the coordinator's clock; its bits / that time
  // is a sample of the rate into the receiving device (too high when the
  // band left before its task's last send, too low when it queued). The
  // median of a window of at least 5 bands of >= 32 KB estimates the link.
  // Three windows in a row `link_drop` times below both the plan's first
  // window and the link the cost model assumes set the device's link to the
  // 90th percentile of the last window and re-plan. (The samples scatter by
  // 2-4x at 1 Gbps on loopback, hence a large factor.)
  void link_samples(const std::string& dev) {
    const WorkerStats& rs = latest_[dev];
    const Peer& rp = session_->peers[size_t(session_->peer_of.at(dev))];
    Link& lk = links_[dev];
    std::vector<double> rates;
    for (size_t k = lk.seen; k < rs.arrivals.size(); ++k) {
      const ArrivalRecord& a = rs.arrivals[k];
      if (!a.waited || a.bytes < 32 * 1024) continue;
      int64_t sent = 0;
      if (session_->routes.is_first(a.stage)) {
        const plan::Stage& s0 = session_->plan.stages[size_t(a.stage)];
        for (size_t j = 0; j < s0.parts.size(); ++j)
          if (s0.parts[j].device == dev && a.frame < ctl_.frames.size() &&
              j < ctl_.frames[size_t(a.frame)].input_sent_ns.size())
            sent = ctl_.frames[size_t(a.frame)].input_sent_ns[j];
      } else if (size_t(a.stage) <= session_->plan.stages.size()) {
        const plan::Stage& prev = session_->plan.stages[size_t(a.stage - 1)];
        if (a.from_part < 0 || size_t(a.from_part) >= prev.parts.size()) continue;
        const std::string& from = prev.parts[size_t(a.from_part)].device;
        auto ls = latest_.find(from);
        if (ls == latest_.end()) continue;
        const Peer& sp = session_->peers[size_t(session_->peer_of.at(from))];
        for (const TaskRecord& t : ls->second.tasks)
          if (t.frame == a.frame && t.stage == a.stage - 1 && t.part == a.from_part)
            sent = t.end_ns - sp.clock_offset_ns;
      }
      const int64_t arrived = a.at_ns - rp.clock_offset_ns;
      if (sent <= 0 || arrived <= sent) continue;
      rates.push_back(double(a.bytes) * 8 / (double(arrived - sent) * 1e-9));
    }
    lk.seen = rs.arrivals.size();
    if (rates.size() < 5) return;
    std::nth_element(rates.begin(), rates.begin() + long(rates.size() / 2), rates.end());
    const double best = rates[rates.size() / 2];
    if (lk.baseline <= 0) {
      lk.baseline = best;
      return;
    }
    const cluster::Device& dv = session_->cluster.devices[size_t(session_->cluster.find(dev))];
    const double model = dv.link_bps > 0 ? dv.link_bps : session_->cluster.default_bandwidth_bps;
    const double limit = std::min(lk.baseline, model) / o_.link_drop;
    lk.off = best < limit ? lk.off + 1 : 0;
    if (lk.off >= 3 && drift_reason_.empty()) {
      // The new link: the 90th percentile (queueing only lowers samples).
      std::sort(rates.begin(), rates.end());
      link_[size_t(c_.find(dev))] = rates[rates.size() * 9 / 10];
      drift_reason_ = fmt::format("link into '{}' measured {:.0f} Mbit/s ({:.0f} when this plan began)",
                                  dev, best / 1e6, lk.baseline / 1e6);
    }
  }

  // CURVE client settings towards device d's worker (none when insecure).
  std::optional<net::Curve> client_for(const cluster::Device& d) const {
    net::Security sec;
    sec.insecure = o_.run.insecure;
    sec.own = o_.run.key ? *o_.run.key : net::process_keypair();
    return net::curve_client(sec, d.public_key);
  }

  // A fresh Hello to device d's worker, answered within the hello timeout?
  bool answers(const cluster::Device& d) const {
    auto sock = net::connect_control(d.address, client_for(d));
    if (!sock.ok()) return false;
    sock->stop_monitor();
    if (!sock->send(net::Hello{net::kProtocolVersion, 0, "coordinator", 0, 0}).ok()) return false;
    const int64_t end = steady_now_ns() + int64_t(o_.run.hello_timeout_s * 1e9);
    while (steady_now_ns() < end) {
      auto m = sock->recv(50);
      if (m.ok() && *m && std::holds_alternative<net::HelloReply>(**m)) return true;
    }
    return false;
  }

  void fail_rest(const std::string& why) {
    for (uint64_t f : ctl_.queue) {
      FrameRecord& rec = ctl_.frames[size_t(f)];
      rec.failed = true;
      rec.error = why;
      rep_.run.failures.push_back(fmt::format("frame {}: {}", f, why));
    }
    ctl_.queue.clear();
  }

  void finish() {
    summarize_frames(ctl_.frames, ctl_.t0_ns, rep_.run.result);
    for (const FrameRecord& f : ctl_.frames)
      rep_.done_s.push_back(f.done ? double(f.done_ns - ctl_.t0_ns) * 1e-9 : -1);
  }

  void log(const std::string& line) const {
    if (o_.run.verbose) std::fprintf(stderr, "adaptive: %s\n", line.c_str());
  }

  const graph::Graph& g_;
  const cluster::ClusterSpec& c_;
  const AdaptiveOptions& o_;
  std::vector<graph::Block> blocks_;
  StreamControl ctl_;
  AdaptiveReport rep_;
  std::vector<bool> alive_;
  std::vector<double> scale_;
  std::map<size_t, Probe> probes_;
  plan::Plan pipeline_, one_stage_;
  std::optional<std::tuple<std::vector<bool>, std::vector<double>, std::vector<double>>>
      planned_for_;  // alive_, scale_, link_ when pipeline_ and one_stage_ were made
  planners::Estimate est_pipe_, est_one_;
  Mode mode_ = Mode::Pipeline;
  double time_scale_ = 1;
  struct Speed {
    double measured = 0, predicted = 0;  // task seconds so far in this deployment
    int tasks = 0;
    double baseline = 0;  // measured / predicted in its first window
    int off = 0;          // windows in a row beyond the drift threshold
    double smooth = 0;    // moving average of the window ratios
    int windows = 0;      // windows seen (the first is warm-up, not a baseline)
  };
  static constexpr int kWindowTasks = 8;  // tasks per stats window, at least
  std::map<std::string, Speed> speed_;  // per device, this deployment
  struct Link {
    size_t seen = 0;      // arrival records already used
    double baseline = 0;  // bits/s estimated in the first window
    int off = 0;
  };
  std::map<std::string, Link> links_;            // per receiving device, this deployment
  std::map<std::string, WorkerStats> latest_;    // per device, this deployment
  std::map<std::tuple<std::string, int, int>, double> predicted_;
  std::vector<double> link_;                     // per device: measured access link (0 = spec)
  Session* session_ = nullptr;
  const cost::CostModel* cm_ = nullptr;
  int64_t epoch_start_ns_ = 0, last_switch_ns_ = 0, next_stats_ns_ = 0;
  int64_t calm_since_ns_ = 0;  // the backlog last exceeded the frames in flight
  std::string next_reason_, drift_reason_;
  bool chosen_ = false;  // a mode has been picked (hysteresis applies from then on)
  bool flip_mode_ = false;  // the next plan takes the other mode
  // Time scale that made the model's response match the measured one, from
  // the last calm judgement: pipeline, one-stage (0: never ran calm).
  double correction_[2] = {0, 0};
  double capacity_[2] = {0, 0};  // completions/s measured when saturated: pipeline, one-stage
  int64_t next_mode_check_ns_ = 0, next_log_ns_ = 0;
  static constexpr int kMinResponses = 10;  // responses in the window to judge a mode
};

}  // namespace

double md1_wait_response_s(double period_s, double latency_s, double rate) {
  const double rho = period_s * rate;
  if (!(rho < 1)) return std::numeric_limits<double>::infinity();
  return latency_s + rho * period_s / (2 * (1 - rho));
}

double service_period(const planners::Estimate& e, bool one_stage) {
  return one_stage ? std::max(e.period_s, e.latency_s) : e.period_s;
}

ModeChoice choose_mode(const planners::Estimate& pipeline, const planners::Estimate& one_stage,
                       double rate, double time_scale, std::optional<bool> current_is_pipeline,
                       double hysteresis) {
  ModeChoice m;
  const double k = time_scale;
  const double one_period = service_period(one_stage, true);
  m.pipeline_s = planners::md1_response_s(pipeline.period_s * k, pipeline.latency_s * k, rate);
  m.one_stage_s = planners::md1_response_s(one_period * k, one_stage.latency_s * k, rate);
  const bool overloaded = !std::isfinite(m.pipeline_s) && !std::isfinite(m.one_stage_s);
  m.pipeline = overloaded ? pipeline.period_s <= one_period : m.pipeline_s < m.one_stage_s;
  if (current_is_pipeline && m.pipeline != *current_is_pipeline && !overloaded) {
    double cur = *current_is_pipeline ? m.pipeline_s : m.one_stage_s;
    double other = std::min(m.pipeline_s, m.one_stage_s);
    if (std::isfinite(cur) && !(other < cur * (1 - hysteresis))) m.pipeline = *current_is_pipeline;
  }
  return m;
}

Result<AdaptiveReport> run_adaptive(const graph::Graph& g, const cluster::ClusterSpec& c,
                                    const AdaptiveOptions& o) {
  return Controller(g, c, o).run();
}

std::string to_table(const AdaptiveReport& r) {
  std::string s;
  for (const SwitchEvent& e : r.switches)
    s += fmt::format("t={:7.2f} s  {}\n           -> {} (deployed in {:.2f} s)\n", e.at_s, e.reason,
                     e.plan, e.deploy_s);
  const sim::Result& m = r.run.result;
  s += fmt::format("{} plans, {} frame re-runs\n", r.switches.size(), r.reruns);
  s += fmt::format("frames {}  completed {}  failed {}  throughput {:.2f} fps  makespan {:.3f} s\n",
                   m.frames, m.completed, m.failed, m.throughput_fps, m.makespan_s);
  s += fmt::format("latency ms (from arrival): mean {:.1f}  p50 {:.1f}  p95 {:.1f}  p99 {:.1f}\n",
                   m.latency_mean_ms, m.latency_p50_ms, m.latency_p95_ms, m.latency_p99_ms);
  for (size_t i = 0; i < r.run.failures.size() && i < 5; ++i) s += r.run.failures[i] + "\n";
  return s;
}

}  // namespace coinfer::runtime
