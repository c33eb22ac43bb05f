#include "kernels/xnnpack_util.h"

#include <mutex>

#include <xnnpack.h>

namespace coinfer::kernels {

Status xnnpack_init() {
  static xnn_status st = xnn_initialize(nullptr);
  if (st != xnn_status_success)
    return errorf("XNNPACK initialisation failed (status {}): this CPU may be unsupported", int(st));
  return ok_status();
}

}  // namespace coinfer::kernels
