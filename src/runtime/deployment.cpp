#include "runtime/deployment.h"

#include <algorithm>
#include <cstring>

#include "runtime/segment.h"

namespace coinfer::runtime {

namespace {

constexpr size_t kDoneMemory = 1024;  // recent complete frames remembered per part

std::string rows_str(Rows r) { return fmt::format("[{},{})", r.lo, r.hi); }

kernels::ExecOptions exec_options(const DeploymentOptions& opt) {
  kernels::ExecOptions eo;
  eo.backend = opt.backend;
  eo.threads = opt.threads;
  return eo;
}

}  // namespace

Result<std::unique_ptr<Deployment>> Deployment::create(uint64_t id, const graph::Graph& g,
                                                        const DeploySpec& spec,
                                                        const std::string& device,
                                                        const DeploymentOptions& opt) {
  if (opt.slowdown < 1) return errorf("slowdown {}: must be >= 1", opt.slowdown);
  std::vector<graph::Block> blocks = graph::find_blocks(g);
  // The coordinator validated the plan; a worker checks it again (it trusts
  // nothing from the network). Memory is the coordinator's check.
  cluster::ClusterSpec names;
  for (const auto& [dev, ep] : spec.endpoints) {
    cluster::Device cd;
    cd.name = dev;
    cd.address = ep;
    names.devices.push_back(std::move(cd));
  }
  std::vector<std::string> errs = plan::validate(spec.plan, g, blocks, names);
  if (!errs.empty())
    return errorf("plan: {}{}", errs.front(),
                  errs.size() > 1 ? fmt::format(" (and {} more)", errs.size() - 1) : "");
  std::unique_ptr<Deployment> d(new Deployment(id, opt));
  ASSIGN_OR_RETURN(d->routes_, make_routes(spec.plan, g, blocks));
  const Routes& routes = d->routes_;
  // Interleaved pipelines give a device overlapping block ranges in several
  // stages (pico-interleaved moves stage boundaries by a block): the parts
  // whose ranges overlap or touch share one executor over their union, so
  // kernels and packed weights exist once. An executor per distinct range
  // held the shared blocks' weights twice, and resnet34's interleaved plan
  // ran no faster than pico on the testbed although predicted 10% faster.
  std::vector<Rows> mine;
  for (int s = 0; s < int(routes.stages.size()); ++s)
    if (int j = routes.find(s, device); j >= 0)
      mine.push_back({routes.at(s, j).first_block, routes.at(s, j).last_block});
  const std::vector<Rows> spans = merge_ranges(mine);
  std::vector<std::shared_ptr<kernels::Executor>> span_ex(spans.size());
  std::vector<int> span_base(spans.size(), 0);
  for (int s = 0; s < int(routes.stages.size()); ++s) {
    int j = routes.find(s, device);
    if (j < 0) continue;
    Part p;
    p.route = routes.at(s, j);
    const size_t k = size_t(std::find_if(spans.begin(), spans.end(), [&](Rows r) {
                              return r.lo <= p.route.first_block && p.route.last_block <= r.hi;
                            }) -
                            spans.begin());
    if (!span_ex[k]) {
      if (auto seg = extract_segment(g, blocks, spans[k].lo, spans[k].hi); seg.ok()) {
        ASSIGN_OR_RETURN(span_ex[k], kernels::Executor::create(std::move(seg->graph), exec_options(opt)));
        span_base[k] = spans[k].lo;
      } else {
        ASSIGN_OR_RETURN(span_ex[k], kernels::Executor::create(g, exec_options(opt)));
      }
    }
    p.ex = span_ex[k];
    p.block_base = span_base[k];
    d->by_stage_[s] = int(d->parts_.size());
    d->parts_.push_back(std::move(p));
  }
  if (d->parts_.empty()) return errorf("plan: device '{}' has no part in it", device);
  // Output sockets, connected now so that the first frame finds them ready.
  for (const Part& p : d->parts_) {
    for (const Supply& o : p.route.outputs) {
      std::string target =
          routes.is_last(p.route.stage) ? "" : routes.at(p.route.stage + 1, o.part).device;
      if (target == device || d->out_.count(target)) continue;  // a band to itself stays local
      std::string ep = target.empty() ? spec.results : "";
      std::string key = target.empty() ? spec.results_key : "";
      if (!target.empty()) {
        auto it = spec.endpoints.find(target);
        if (it == spec.endpoints.end())
          return errorf("deploy spec: no band endpoint for device '{}'", target);
        ep = it->second;
        auto k = spec.keys.find(target);
        if (k != spec.keys.end()) key = k->second;
      }
      if (!opt.security.insecure && key.empty())
        return errorf("deploy spec: no public key for {}: the coordinator runs --insecure?",
                      target.empty() ? "the coordinator" : fmt::format("device '{}'", target));
      ASSIGN_OR_RETURN(net::Socket s,
                       net::connect_band_output(ep, net::curve_client(opt.security, key)));
      d->out_.emplace(target, std::move(s));
    }
  }
  d->keys_ = spec.keys;
  d->coordinator_key_ = spec.results_key;
  if (auto k = spec.keys.find(device); k != spec.keys.end()) d->own_key_ = k->second;
  d->stats_.deployment_id = id;
  return d;
}

std::vector<std::string> Deployment::retry_refused_outputs(int64_t now_ns) {
  constexpr int64_t kRetryNs = 100'000'000;
  std::vector<std::string> lines;
  for (auto& [dev, sock] : out_) {
    for (const net::HandshakeFailure& f : sock.handshake_failures()) {
      if (!f.definite || retry_at_.count(dev)) continue;
      retry_at_[dev] = now_ns + kRetryNs;
      const uint64_t n = ++refusals_[dev];
      if (n <= 3 || n % 100 == 0)
          lines.push_back(fmt::format("output to {}: {}; retrying in 100 ms (refusal {})",
                                    dev.empty() ? "the coordinator" : "'" + dev + "'", f.text, n));
    }
  }
  for (auto it = retry_at_.begin(); it != retry_at_.end();) {
    if (it->second > now_ns) {
      ++it;
      continue;
    }
    if (Status st = out_.at(it->first).reconnect(); !st.ok()) lines.push_back(st.message());
    it = retry_at_.erase(it);
  }
  return lines;
}

std::string Deployment::describe() const {
  std::string s;
  for (const Part& p : parts_) {
    if (!s.empty()) s += ", ";
    s += p.route.name;
  }
  return s;
}

void Deployment::mark_done(Part& p, uint64_t frame) {
  p.done.insert(frame);
  if (p.done.size() > kDoneMemory) p.done.erase(p.done.begin());
}

Status Deployment::accept(net::Band band, int64_t now_ns, const std::string& sender_key,
                          bool waited) {
  auto fail = [&](std::string why) {
    ++stats_.bands_rejected;
    return errorf("band frame {} stage {} from part {}: {}", band.frame_id, band.stage, band.part,
                  why);
  };
  if (band.deployment_id != id_)
    return fail(fmt::format("deployment {}: this worker runs deployment {}", band.deployment_id, id_));
  auto st = by_stage_.find(int(std::min<uint32_t>(band.stage, 1u << 30)));
  if (st == by_stage_.end()) return fail("this worker has no part in that stage");
  const int pi = st->second;
  Part& p = parts_[size_t(pi)];
  const PartRoute& r = p.route;
  int k = -1;
  for (size_t q = 0; q < r.inputs.size(); ++q)
    if (uint32_t(r.inputs[q].part) == band.part) k = int(q);
  if (k < 0) return fail("that part supplies no rows to this one");
  if (!keys_.empty()) {  // authenticated: the key must be that supplier's
    const std::string& want_key =
        routes_.is_first(r.stage) ? coordinator_key_
                                  : keys_[routes_.at(r.stage - 1, r.inputs[size_t(k)].part).device];
    if (sender_key != want_key)
      return fail(fmt::format("sent with key '{}': that part's supplier has key '{}'", sender_key,
                              want_key));
  }
  const Tensor& t = band.tensor;
  if (!(t.shape == r.in_shape))
    return fail(fmt::format("shape {}: expected {}", t.shape.str(), r.in_shape.str()));
  const Rows want = r.inputs[size_t(k)].rows;
  if (!(t.band() == want))
    return fail(fmt::format("rows {}: expected exactly {}", rows_str(t.band()), rows_str(want)));
  if (t.data.size() != size_t(int64_t(t.rows) * t.shape.row_elements()))
    return fail("payload size does not match its rows");
  if (p.done.count(band.frame_id)) return fail("duplicate (the frame already ran)");
  auto it = p.pending.find(band.frame_id);
  if (it == p.pending.end()) {
    if (p.pending.size() >= opt_.max_pending) {
      ++stats_.dropped;
      return errorf("band frame {} stage {}: {} frames already incomplete: dropped",
                    band.frame_id, band.stage, p.pending.size());
    }
    if (r.inputs.size() == 1 && want == r.in) {  // the one supplier: its band is the input
      ++stats_.bands_received;
      if (stats_.arrivals.size() < kMaxRecords)
        stats_.arrivals.push_back({band.frame_id, r.stage, int(band.part), now_ns,
                                   uint64_t(t.data.size()) * 4, waited});
      mark_done(p, band.frame_id);
      ready_.push_back({pi, band.frame_id, std::move(band.tensor)});
      return ok_status();
    }
    Pending fresh;
    fresh.input = Tensor(r.in_shape, r.in);
    fresh.got.assign(r.inputs.size(), false);
    fresh.missing = int(r.inputs.size());
    it = p.pending.emplace(band.frame_id, std::move(fresh)).first;
  }
  Pending& pend = it->second;
  if (pend.got[size_t(k)]) return fail("duplicate");
  pend.got[size_t(k)] = true;
  --pend.missing;
  std::memcpy(pend.input.row(want.lo), t.row(want.lo), t.data.size() * sizeof(float));
  ++stats_.bands_received;
  if (stats_.arrivals.size() < kMaxRecords)
    stats_.arrivals.push_back(
        {band.frame_id, r.stage, int(band.part), now_ns, uint64_t(t.data.size()) * 4, waited});
  if (pend.missing == 0) {
    ready_.push_back({pi, band.frame_id, std::move(pend.input)});
    mark_done(p, band.frame_id);
    p.pending.erase(it);
  }
  return ok_status();
}

Status Deployment::send_outputs(const Part& p, uint64_t frame, Tensor out) {
  const PartRoute& r = p.route;
  const bool last_stage = routes_.is_last(r.stage);
  Status first_error;
  for (size_t i = 0; i < r.outputs.size(); ++i) {
    const Supply& o = r.outputs[i];
    // The last band that covers the whole output takes the buffer itself.
    Tensor t = (i + 1 == r.outputs.size() && o.rows == out.band()) ? std::move(out) : out.slice(o.rows);
    const uint64_t bytes = uint64_t(t.data.size()) * 4;
    Status st;
    if (last_stage) {
      net::ResultBand b;
      b.deployment_id = id_;
      b.frame_id = frame;
      b.stage = uint32_t(r.stage);
      b.part = uint32_t(r.part);
      b.tensor = std::move(t);
      st = wait_writable(out_.at(""), "the coordinator");
      if (st.ok()) st = out_.at("").send(std::move(b));
    } else {
      net::Band b;
      b.deployment_id = id_;
      b.frame_id = frame;
      b.stage = uint32_t(r.stage + 1);
      b.part = uint32_t(r.part);
      b.tensor = std::move(t);
      const std::string& target = routes_.at(r.stage + 1, o.part).device;
      auto it = out_.find(target);
      if (it == out_.end()) {
        st = accept(std::move(b), steady_now_ns(), own_key_);  // the next part is on this device
        if (st.ok()) continue;                        // local: no bytes on the wire
      } else {
        st = wait_writable(it->second, "'" + target + "'");
        if (st.ok()) st = it->second.send(std::move(b));
      }
    }
    if (st.ok()) {
      ++stats_.bands_sent;
      stats_.bytes_sent += bytes;
    } else {
      ++stats_.dropped;
      if (first_error.ok()) first_error = st;
    }
  }
  return first_error;
}

Status Deployment::wait_writable(net::Socket& s, const std::string& to) {
  constexpr int kSendSliceMs = 50;
  const int64_t deadline = steady_now_ns() + int64_t(opt_.send_timeout_s * 1e9);
  for (;;) {
    zmq_pollitem_t item{s.raw().handle(), 0, ZMQ_POLLOUT, 0};
    int rc = zmq_poll(&item, 1, kSendSliceMs);
    if (rc > 0 && (item.revents & ZMQ_POLLOUT)) return ok_status();
    if (rc < 0 && zmq_errno() != EINTR) return errorf("band to {}: poll: {}", to, zmq_strerror(zmq_errno()));
    if (opt_.interrupted && opt_.interrupted())
      return errorf("band to {}: abandoned for a control request", to);
    (void)retry_refused_outputs(steady_now_ns());  // a peer refusing until it has its Deploy
    if (steady_now_ns() >= deadline)
      return errorf("band to {}: no room for {:g} s (peer gone or stuck)", to, opt_.send_timeout_s);
  }
}

std::optional<Deployment::TaskError> Deployment::run_next() {
  if (ready_.empty()) return std::nullopt;
  Ready task = std::move(ready_.front());
  ready_.pop_front();
  Part& p = parts_[size_t(task.part)];
  const PartRoute& r = p.route;
  const int64_t start = steady_now_ns();
  duty_.begin();
  auto out = p.ex->run_band(r.first_block - p.block_base, r.last_block - p.block_base, r.out,
                            task.input);
  task.input = Tensor();  // free the input before the sends allocate
  // An emulated slow device finishes computing at start + K * CPU time: its
  // outputs leave then, not before.
  duty_.end();
  std::optional<TaskError> err;
  if (!out.ok()) {
    ++stats_.task_errors;
    err = TaskError{task.frame, fmt::format("{}: {}", r.name, out.error())};
  } else {
    Status st = send_outputs(p, task.frame, std::move(out).value());
    if (!st.ok()) err = TaskError{task.frame, fmt::format("{}: {}", r.name, st.message())};
  }
  const int64_t end = steady_now_ns();
  ++stats_.tasks_run;
  stats_.busy_s += double(end - start) * 1e-9;
  if (stats_.tasks.size() < kMaxRecords)
    stats_.tasks.push_back({task.frame, r.stage, r.part, start, end});
  return err;
}

}  // namespace coinfer::runtime
