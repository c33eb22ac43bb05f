#include "net/io_cost.h"

#include <time.h>

#include <thread>

#include "net/auth.h"
#include "net/keys.h"
#include "net/transport.h"

namespace coinfer::net {
namespace {

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

Band band_of(int64_t bytes, uint64_t frame) {
  Band b;
  b.frame_id = frame;
  Shape s{64, 64, int(std::max<int64_t>(1, bytes / 4 / 64 / 64)), 4};  // 64 x 64 x w floats
  b.tensor = Tensor(s);
  return b;
}

}  // namespace

Result<double> measure_io_seconds_per_byte(int64_t bytes, int count) {
  if (bytes < 4 * 64 * 64 || count < 1)
    return errorf("io cost: bytes >= 16384 and count >= 1 required");
  ASSIGN_OR_RETURN(Keypair server, generate_keypair());
  ASSIGN_OR_RETURN(Keypair client, generate_keypair());
  ASSIGN_OR_RETURN(auto keys, AuthorizedKeys::create({client.public_key}, nullptr));
  ASSIGN_OR_RETURN(Socket in, bind_band_input("tcp://127.0.0.1:*", Curve{server, "", keys}));
  ASSIGN_OR_RETURN(Socket out,
                   connect_band_output(in.endpoint(), Curve{client, server.public_key, nullptr}));
  auto receive = [&]() -> Result<int64_t> {
    ASSIGN_OR_RETURN(auto m, in.recv(10000));
    if (!m) return errorf("io cost: no band within 10 s on {}", in.endpoint());
    const Band* b = std::get_if<Band>(&*m);
    if (!b) return errorf("io cost: received a {}, not a Band", msg_type_name(type_of(*m)));
    return int64_t(b->tensor.data.size()) * 4;
  };
  RETURN_IF_ERROR(out.send(band_of(bytes, 0)));
  RETURN_IF_ERROR(receive().status());
  // Bands are built before the clock starts: the runtime's own come from the
  // executor, not from an allocation per send.
  std::vector<Band> bands;
  for (int i = 0; i < count; ++i) bands.push_back(band_of(bytes, uint64_t(i) + 1));
  Status sent = ok_status();
  double t0 = process_cpu_seconds();
  std::thread sender([&] {
    for (Band& b : bands) {
      sent = out.send(std::move(b));
      if (!sent.ok()) return;
    }
  });
  int64_t moved = 0;
  Status got = ok_status();
  for (int i = 0; i < count && got.ok(); ++i) {
    auto n = receive();
    if (n.ok())
      moved += *n;
    else
      got = n.status();
  }
  sender.join();
  double cpu = process_cpu_seconds() - t0;
  RETURN_IF_ERROR(sent);
  RETURN_IF_ERROR(got);
  return cpu / double(moved) / 2;
}

}  // namespace coinfer::net
