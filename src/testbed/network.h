// The testbed's network: one bridge in the root namespace (the coordinator's
// side, 10.77.0.1/24) and per device a network namespace joined to it by a veth
// pair. Names and addresses in testbed/names.h. Uses `ip` (iproute2); root only.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer::testbed {

// Error unless 10.77.0.0/24 is unused by every interface of the root namespace.
Status check_subnet_free();
// coinfer-br0 with 10.77.0.1/24, up.
Status create_bridge();
// Namespace coinfer-n<i> with lo up, veth coinfer-v<i> (on the bridge, up) <->
// coinfer-p<i> (in the namespace, 10.77.0.<i+2>/24, up).
Status create_device_net(int i);

bool netns_exists(const std::string& name);
bool link_exists(const std::string& name);  // in the root namespace
// coinfer-* namespaces, and coinfer-* links of the root namespace.
std::vector<std::string> list_coinfer_netns();
std::vector<std::string> list_coinfer_links();
// Pids of the processes inside a namespace.
std::vector<pid_t> netns_pids(const std::string& name);

// Idempotent deletes: ok when the object is already gone.
Status delete_netns(const std::string& name);
Status delete_link(const std::string& name);

}  // namespace coinfer::testbed
