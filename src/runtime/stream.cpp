// The coordinator's frame loop: issue frames (closed loop or at a rate), hand
// every stage-0 part its input rows with non-blocking sends (a full worker
// queue just means "retry shortly"), collect Result bands, fail frames on
// worker Errors and timeouts. Single-threaded: nothing here ever blocks for
// longer than one poll.
#include <cstring>
#include <deque>
#include <map>

#include "runtime/session.h"
#include "runtime/slowdown.h"

namespace coinfer::runtime {

namespace {

// Consecutive timeouts without any completion in between after which the
// frames not yet issued are failed too: the pipeline is stuck.
constexpr int kStallTimeouts = 3;

struct Live {
  const std::vector<PartRoute>* first = nullptr;  // its pipeline's first stage
  const std::vector<PartRoute>* last = nullptr;   // and last stage
  uint32_t last_stage = 0;
  Tensor input;  // freed once every stage-0 part has its rows
  std::vector<bool> sent;
  int unsent = 0;
  Tensor output;
  std::vector<bool> got;
  int missing = 0;
  int64_t deadline_ns = 0;
};

class Streamer {
 public:
  Streamer(Session& s, RunReport& r) : s_(s), r_(r), frames_(s.ctl ? s.ctl->frames : s.frames) {}

  Status run() {
    RETURN_IF_ERROR(open_inputs());
    StreamControl* ctl = s_.ctl;
    const int k = s_.o.in_flight > 0 ? s_.o.in_flight : plan::default_in_flight(s_.plan);
    std::deque<uint64_t> own;
    std::deque<uint64_t>& queue = ctl ? ctl->queue : own;
    if (!ctl) {
      const int n = s_.o.input ? 1 : s_.o.frames;
      frames_.assign(size_t(n), FrameRecord{});
      r_.outputs.assign(size_t(n), Tensor());
      for (int f = 0; f < n; ++f) own.push_back(uint64_t(f));
      s_.t0_ns = steady_now_ns();
    } else {
      s_.t0_ns = ctl->t0_ns;
      seen_.assign(s_.peers.size(), steady_now_ns());
    }
    bool stopping = false;
    int64_t next_beat = 0;
    while ((!queue.empty() && !stopping) || !live_.empty()) {
      int64_t now = steady_now_ns();
      if (ctl && !stopping && ctl->stop && ctl->stop()) stopping = true;
      int64_t next_due = INT64_MAX;
      while (!queue.empty() && !stopping) {
        const uint64_t f = queue.front();
        int64_t due = now;
        if (ctl && !ctl->arrival_s.empty()) {
          due = s_.t0_ns + int64_t(ctl->arrival_s[size_t(f)] * 1e9);
          if (due > now) {
            next_due = due;
            break;
          }
        } else if (s_.o.rate > 0) {
          due = s_.t0_ns + int64_t(double(f) / s_.o.rate * 1e9);
          if (due > now) {
            next_due = due;
            break;
          }
        } else if (int(live_.size()) >= k) {
          break;
        }
        // Adaptive runs admit at most k frames at once at any rate: a backlog
        // waits here (its latency still counts from arrival), so a switch
        // moves it to the next plan instead of draining it through this one.
        if (ctl && int(live_.size()) >= k) break;
        queue.pop_front();
        issue(f, due);
      }
      const bool blocked = send_inputs();
      int64_t wake = std::min(next_due, now + (blocked ? 1'000'000 : 20'000'000));
      for (const auto& [f, l] : live_) wake = std::min(wake, l.deadline_ns);
      if (ctl) {
        if (now >= next_beat) {
          for (Peer& p : s_.peers) (void)p.ctl->send(net::Heartbeat{++beat_, uint64_t(now)});
          next_beat = now + int64_t(ctl->heartbeat_s * 1e9);
        }
        wake = std::min(wake, next_beat);
      }
      RETURN_IF_ERROR(poll(poll_timeout_ms(wake, steady_now_ns())));
      now = steady_now_ns();
      if (ctl && lost_workers(now)) break;
      for (auto it = live_.begin(); it != live_.end();) {
        auto cur = it++;
        if (now >= cur->second.deadline_ns) time_out(cur->first, cur->second);
      }
      if (stalled_ >= kStallTimeouts && !queue.empty()) {
        for (; !queue.empty(); queue.pop_front()) {
          frames_[size_t(queue.front())].issued_ns = now;
          fail(queue.front(), fmt::format("not run: the pipeline stalled ({} frames in a row "
                                          "timed out)", stalled_));
        }
      }
    }
    return ok_status();
  }

 private:
  Status open_inputs() {
    for (Rows pipe : s_.routes.pipelines)
      for (const PartRoute& pr : s_.routes.stages[size_t(pipe.lo)]) {
        Peer& p = s_.peers[size_t(s_.peer_of.at(pr.device))];
        if (p.band) continue;
        net::SocketOptions opt = net::band_options();
        opt.immediate = true;
        opt.send_timeout_ms = 0;  // never block: a refused send is retried
        opt.curve = net::curve_client(s_.security, p.public_key);
        auto sock =
            net::Socket::open(zmq::socket_type::push, net::Socket::Mode::Connect, p.band_ep, opt);
        if (!sock.ok()) return errorf("worker '{}' at {}: {}", p.device, p.address, sock.error());
        p.band.emplace(std::move(sock).value());
      }
    return ok_status();
  }

  void issue(uint64_t f, int64_t due) {
    FrameRecord& rec = frames_[size_t(f)];
    if (rec.issued_ns == 0) rec.issued_ns = due;  // a re-run keeps the frame's arrival
    const Rows pipe = s_.routes.pipeline_of_frame(f);
    Live l;
    l.first = &s_.routes.stages[size_t(pipe.lo)];
    l.last = &s_.routes.stages[size_t(pipe.hi - 1)];
    l.last_stage = uint32_t(pipe.hi - 1);
    const auto& first = *l.first;
    const auto& last = *l.last;
    rec.input_sent_ns.assign(first.size(), 0);
    rec.result_recv_ns.assign(last.size(), 0);
    if (s_.ctl) ++s_.ctl->attempts[f];
    l.input = s_.o.input ? *s_.o.input : synthetic_frame(s_.g.input_shape(), s_.o.seed, f);
    l.sent.assign(first.size(), false);
    l.unsent = int(first.size());
    l.output = Tensor(last.front().out_shape);
    l.got.assign(last.size(), false);
    l.missing = int(last.size());
    l.deadline_ns = std::max(due, steady_now_ns()) + int64_t(s_.o.frame_timeout_s * 1e9);
    live_.emplace(f, std::move(l));
  }

  // Sends what it can; true if some send was refused (retry soon).
  bool send_inputs() {
    bool blocked = false;
    for (auto& [f, l] : live_) {
      if (l.unsent == 0) continue;
      for (size_t j = 0; j < l.first->size(); ++j) {
        if (l.sent[j]) continue;
        const PartRoute& pr = (*l.first)[j];
        net::Socket& sock = *s_.peers[size_t(s_.peer_of.at(pr.device))].band;
        // Not writable (queue full, or the worker gone): no band to build.
        // Slicing the input for a send that is then refused, every
        // millisecond, kept a core busy while a dead worker's frames timed out.
        if (!(sock.raw().get(zmq::sockopt::events) & ZMQ_POLLOUT)) {
          blocked = true;
          continue;
        }
        net::Band b;
        b.deployment_id = s_.deployment_id;
        b.frame_id = f;
        b.stage = uint32_t(pr.stage);
        b.part = 0;
        b.tensor = l.input.slice(pr.in);
        const uint64_t bytes = uint64_t(b.tensor.data.size()) * 4;
        if (!sock.send(std::move(b)).ok()) {
          blocked = true;
          continue;
        }
        l.sent[j] = true;
        --l.unsent;
        frames_[size_t(f)].input_sent_ns[j] = steady_now_ns();
        s_.input_bytes += bytes;
      }
      if (l.unsent == 0) l.input = Tensor();
    }
    return blocked;
  }

  Status poll(int timeout_ms) {
    std::vector<zmq_pollitem_t> items;
    for (auto& r : s_.results) items.push_back({r->raw().handle(), 0, ZMQ_POLLIN, 0});
    for (Peer& p : s_.peers) items.push_back({p.ctl->raw().handle(), 0, ZMQ_POLLIN, 0});
    int rc = zmq_poll(items.data(), int(items.size()), timeout_ms);
    if (rc < 0 && zmq_errno() != EINTR) return errorf("poll: {}", zmq_strerror(zmq_errno()));
    if (rc <= 0) return ok_status();
    for (size_t i = 0; i < s_.results.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      for (int burst = 0; burst < 256; ++burst) {
        auto m = s_.results[i]->recv(0);
        if (!m.ok()) {
          reject(m.error());
          continue;
        }
        if (!*m) break;
        on_result(**m, s_.results[i]->sender_key());
      }
    }
    for (size_t i = 0; i < s_.peers.size(); ++i) {
      if (!(items[s_.results.size() + i].revents & ZMQ_POLLIN)) continue;
      for (;;) {
        auto m = s_.peers[i].ctl->recv(0);
        if (!m.ok()) continue;
        if (!*m) break;
        if (!seen_.empty()) seen_[i] = steady_now_ns();
        if (auto* e = std::get_if<net::Error>(&**m)) {
          auto it = live_.find(e->frame_id);
          std::string why = fmt::format("worker '{}': {}", s_.peers[i].device, e->message);
          if (it != live_.end())
            retry_or_fail(e->frame_id, why);
          else
            s_.log(why);
        } else if (s_.ctl && s_.ctl->on_control && !std::holds_alternative<net::Heartbeat>(**m)) {
          s_.ctl->on_control(int(i), **m);
        }
      }
    }
    return ok_status();
  }

  void reject(const std::string& why) {
    ++s_.results_rejected;
    s_.log("result dropped: " + why);
  }

  void on_result(net::Message& m, const std::string& sender_key) {
    auto* b = std::get_if<net::ResultBand>(&m);
    if (!b) return reject(fmt::format("unexpected {}", net::msg_type_name(net::type_of(m))));
    if (b->deployment_id != s_.deployment_id)
      return reject(fmt::format("deployment {}: not this run's", b->deployment_id));
    auto it = live_.find(b->frame_id);
    if (it == live_.end())
      return reject(fmt::format("frame {}: not in flight (late or unknown)", b->frame_id));
    Live& l = it->second;
    if (b->stage != l.last_stage || b->part >= l.last->size())
      return reject(fmt::format("frame {}: stage {} part {}: not a part of the frame's last stage",
                                b->frame_id, b->stage, b->part));
    const PartRoute& pr = (*l.last)[b->part];
    const Peer& from = s_.peers[size_t(s_.peer_of.at(pr.device))];
    if (!s_.security.insecure && sender_key != from.public_key)
      return reject(fmt::format("frame {} part {}: sent with key '{}', not '{}''s", b->frame_id,
                                b->part, sender_key, from.device));
    const Tensor& t = b->tensor;
    if (!(t.shape == pr.out_shape) || !(t.band() == pr.out) ||
        t.data.size() != size_t(int64_t(t.rows) * t.shape.row_elements()))
      return reject(fmt::format("frame {} part {}: shape {} rows [{},{}): expected {} rows [{},{})",
                                b->frame_id, b->part, t.shape.str(), t.row0, t.row0 + t.rows,
                                pr.out_shape.str(), pr.out.lo, pr.out.hi));
    if (l.got[b->part]) return reject(fmt::format("frame {} part {}: duplicate", b->frame_id, b->part));
    l.got[b->part] = true;
    --l.missing;
    const int64_t now = steady_now_ns();
    frames_[b->frame_id].result_recv_ns[b->part] = now;
    if (l.last->size() == 1 && t.whole())
      l.output = std::move(b->tensor);
    else
      std::memcpy(l.output.row(pr.out.lo), t.row(pr.out.lo), t.data.size() * sizeof(float));
    if (l.missing > 0) return;
    FrameRecord& rec = frames_[b->frame_id];
    rec.done = true;
    rec.done_ns = now;
    if (s_.o.keep_outputs || s_.o.input) r_.outputs[b->frame_id] = std::move(l.output);
    live_.erase(it);
    stalled_ = 0;
  }

  void time_out(uint64_t f, const Live& l) {
    std::string waiting;
    if (l.unsent > 0) {
      for (size_t j = 0; j < l.first->size(); ++j)
        if (!l.sent[j]) waiting += (waiting.empty() ? "" : ", ") + (*l.first)[j].device;
      waiting = "its input to be accepted by " + waiting;
    } else {
      for (size_t j = 0; j < l.last->size(); ++j)
        if (!l.got[j])
          waiting += fmt::format("{}s{}p{} ('{}')", waiting.empty() ? "" : ", ", (*l.last)[j].stage,
                                 j, (*l.last)[j].device);
      waiting = "the results of " + waiting;
    }
    ++stalled_;
    retry_or_fail(f, fmt::format("timed out after {:g} s waiting for {}", s_.o.frame_timeout_s,
                                 waiting));
  }

  // Workers silent for dead_after_s: noted in ctl->lost; the frames in flight
  // go back to the front of the queue (in frame order) or fail.
  bool lost_workers(int64_t now) {
    StreamControl& c = *s_.ctl;
    for (size_t i = 0; i < s_.peers.size(); ++i)
      if (now - seen_[i] > int64_t(c.dead_after_s * 1e9)) c.lost.push_back(s_.peers[i].device);
    if (c.lost.empty()) return false;
    c.lost_ns = now;
    std::string who;
    for (const std::string& d : c.lost) who += (who.empty() ? "'" : ", '") + d + "'";
    s_.log(fmt::format("lost {}: silent for {:g} s; {} frames in flight to re-run", who,
                       c.dead_after_s, live_.size()));
    std::vector<uint64_t> back;
    for (auto& [f, l] : live_) back.push_back(f);
    for (auto it = back.rbegin(); it != back.rend(); ++it)
      retry_or_fail(*it, fmt::format("worker {} lost", who));
    return true;
  }

  // Adaptive runs re-run a frame whose run failed (up to max_attempts);
  // otherwise it fails.
  void retry_or_fail(uint64_t f, const std::string& why) {
    StreamControl* c = s_.ctl;
    if (!c || c->attempts[f] >= c->max_attempts) {
      fail(f, c ? fmt::format("{} (after {} attempts)", why, c->attempts[f]) : why);
      return;
    }
    live_.erase(f);
    c->queue.push_front(f);
    ++c->requeued;
    s_.log(fmt::format("frame {}: {}; re-run", f, why));
  }

  void fail(uint64_t f, std::string why) {
    FrameRecord& rec = frames_[size_t(f)];
    rec.failed = true;
    rec.error = why;
    r_.failures.push_back(fmt::format("frame {}: {}", f, why));
    s_.log(r_.failures.back());
    live_.erase(f);
  }

  Session& s_;
  RunReport& r_;
  std::vector<FrameRecord>& frames_;
  std::map<uint64_t, Live> live_;
  std::vector<int64_t> seen_;  // per peer: last message (adaptive runs)
  uint64_t beat_ = 1000;
  int stalled_ = 0;
};

}  // namespace

Status stream_frames(Session& s, RunReport& r) { return Streamer(s, r).run(); }

}  // namespace coinfer::runtime
