// Running system tools (ip, tc) and starting detached processes, without a
// shell: arguments are passed as they are, never re-parsed.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "core/status.h"

namespace coinfer::testbed {

struct CommandOutput {
  int exit_code = -1;  // -1: could not run (not found, killed by a signal)
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) to completion.
CommandOutput run_command(const std::vector<std::string>& argv);
// Same, but a non-zero exit is an error naming the command and the first line
// of its output: "`tc qdisc add dev coinfer-v0 ...`: exit 2: Error: ...".
Result<std::string> run_checked(const std::vector<std::string>& argv);
// Whether `name` is an executable in PATH.
bool have_command(const std::string& name);

// A process started detached (own session, reparented to init, so it outlives
// its starter and never becomes the starter's zombie).
struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0]: an absolute path or a name looked up in PATH
  std::string netns;              // join /var/run/netns/<netns> first; empty: stay
  std::string cgroup_tasks;       // join this cgroup tasks file first; empty: stay
  std::string log_path;           // stdout + stderr (appended); empty: /dev/null
};
// Starts the process and returns its pid once it has exec'd; an error if any
// step before exec failed (naming the step and errno), with nothing left behind.
Result<pid_t> spawn_detached(const SpawnSpec& spec);

// Alive and not a zombie.
bool process_alive(pid_t pid);
// argv[0] of a process ("" if it is gone).
std::string process_exe_arg(pid_t pid);
// SIGTERM, then SIGKILL after grace_ms; returns once the process is gone or
// after grace_ms + 2 s. True if it is gone.
bool stop_process(pid_t pid, int grace_ms);

// Waits until a TCP connect to ip:port succeeds (true), `pid` dies or
// timeout_ms passes (false).
bool wait_tcp_listening(const std::string& ip, int port, pid_t pid, int timeout_ms);
// Whether ip:port (TCP) can be bound right now.
bool tcp_port_free(const std::string& ip, int port);

// Last non-empty line of a text file ("" if none); for error messages.
std::string last_line_of(const std::string& path);

}  // namespace coinfer::testbed
