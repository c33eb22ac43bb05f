// What moving bands costs a worker's CPU: the profile's io_seconds_per_byte
// (cost/cost_model.h), measured through the runtime's own sockets.
#pragma once

#include <cstdint>

#include "core/status.h"

namespace coinfer::net {

// CPU seconds per byte of band one worker spends receiving or sending it. One
// PUSH and one PULL in this process on loopback TCP, with CURVE as workers use
// by default, move `count` Bands of `bytes` each (after one untimed band that
// completes the handshake); the process CPU time (the sender, the receiver,
// ZeroMQ's I/O threads, the kernel's TCP on both sides) over the bytes moved,
// halved: every byte is sent by one worker and received by another.
Result<double> measure_io_seconds_per_byte(int64_t bytes, int count);

}  // namespace coinfer::net
