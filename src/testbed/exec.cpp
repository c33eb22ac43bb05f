#include "testbed/exec.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace coinfer::testbed {
namespace {

std::string join(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string first_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) return line;
  return "";
}

// Resolves a command name against PATH ("" if not found).
std::string which(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  dirs += ":/usr/sbin:/sbin";  // ip and tc live there; PATH may lack them
  std::istringstream in(dirs);
  std::string dir;
  while (std::getline(in, dir, ':')) {
    if (dir.empty()) continue;
    std::string p = dir + "/" + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

std::vector<char*> c_argv(std::vector<std::string>& argv) {
  std::vector<char*> v;
  for (std::string& a : argv) v.push_back(a.data());
  v.push_back(nullptr);
  return v;
}

bool read_full(int fd, void* buf, size_t n) {
  auto* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= size_t(r);
  }
  return true;
}

void write_full(int fd, const void* buf, size_t n) {
  auto* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t r = write(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    p += r;
    n -= size_t(r);
  }
}

}  // namespace

CommandOutput run_command(const std::vector<std::string>& argv_in) {
  CommandOutput out;
  if (argv_in.empty()) return out;
  std::vector<std::string> argv = argv_in;
  std::string exe = which(argv[0]);
  if (exe.empty()) {
    out.output = argv[0] + ": command not found";
    return out;
  }
  std::vector<char*> cargv = c_argv(argv);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    out.output = std::string("pipe: ") + std::strerror(errno);
    return out;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    out.output = std::string("fork: ") + std::strerror(errno);
    return out;
  }
  if (pid == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(exe.c_str(), cargv.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  for (;;) {
    ssize_t r = read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out.output.append(buf, size_t(r));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

Result<std::string> run_checked(const std::vector<std::string>& argv) {
  CommandOutput o = run_command(argv);
  if (o.exit_code != 0)
    return errorf("`{}`: exit {}: {}", join(argv), o.exit_code, first_line(o.output));
  return o.output;
}

bool have_command(const std::string& name) {
  return !which(name).empty();
}

Result<pid_t> spawn_detached(const SpawnSpec& spec) {
  if (spec.argv.empty()) return errorf("spawn: empty command");
  std::vector<std::string> argv = spec.argv;
  std::string exe = which(argv[0]);
  if (exe.empty()) return errorf("spawn '{}': not found or not executable", argv[0]);
  // Everything the children need is prepared here: after fork only
  // async-signal-safe calls.
  std::vector<char*> cargv = c_argv(argv);
  const std::string netns_path = spec.netns.empty() ? "" : "/var/run/netns/" + spec.netns;
  const std::string log = spec.log_path.empty() ? "/dev/null" : spec.log_path;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return errorf("spawn: pipe: {}", std::strerror(errno));
  // Steps reported back on failure.
  enum Step : int { kSession = 1, kNetns, kCgroup, kLog, kExec };
  pid_t mid = fork();
  if (mid < 0) {
    close(fds[0]);
    close(fds[1]);
    return errorf("spawn: fork: {}", std::strerror(errno));
  }
  if (mid == 0) {
    close(fds[0]);
    pid_t pid = fork();
    if (pid != 0) _exit(pid < 0 ? 1 : 0);  // the intermediate child just leaves
    int64_t self = getpid();               // first the pid, then (only on failure) a step record
    write_full(fds[1], &self, sizeof self);
    auto fail = [&](int step) {
      int rec[2] = {step, errno};
      write_full(fds[1], rec, sizeof rec);
      _exit(127);
    };
    if (setsid() < 0) fail(kSession);
    if (!netns_path.empty()) {
      int nfd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (nfd < 0 || setns(nfd, CLONE_NEWNET) != 0) fail(kNetns);
      close(nfd);
    }
    if (!spec.cgroup_tasks.empty()) {
      int cfd = open(spec.cgroup_tasks.c_str(), O_WRONLY | O_CLOEXEC);
      if (cfd < 0 || write(cfd, "0\n", 2) != 2) fail(kCgroup);  // "0": this process
      close(cfd);
    }
    int lfd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (lfd < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(lfd, 1) < 0 || dup2(lfd, 2) < 0) fail(kLog);
    signal(SIGPIPE, SIG_DFL);
    execv(exe.c_str(), cargv.data());
    fail(kExec);
  }
  close(fds[1]);
  int st = 0;
  while (waitpid(mid, &st, 0) < 0 && errno == EINTR) {
  }
  int64_t pid = -1;
  bool got_pid = read_full(fds[0], &pid, sizeof pid);
  int rec[2] = {0, 0};
  bool failed = got_pid && read_full(fds[0], rec, sizeof rec);  // EOF: exec succeeded
  close(fds[0]);
  if (!got_pid || pid <= 0) return errorf("spawn '{}': fork failed", argv[0]);
  if (failed) {
    static const char* kSteps[] = {"?", "setsid", "join netns", "join cgroup", "open log", "exec"};
    const char* step = rec[0] >= 1 && rec[0] <= kExec ? kSteps[rec[0]] : "?";
    std::string where = rec[0] == kNetns    ? " " + netns_path
                        : rec[0] == kCgroup ? " " + spec.cgroup_tasks
                        : rec[0] == kLog    ? " " + log
                                            : " " + exe;
    return errorf("spawn '{}': {}{}: {}", argv[0], step, where, std::strerror(rec[1]));
  }
  return pid_t(pid);
}

bool process_alive(pid_t pid) {
  if (pid <= 0 || kill(pid, 0) != 0) return false;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(f, stat);
  size_t close_paren = stat.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= stat.size()) return false;
  char state = stat[close_paren + 2];
  return state != 'Z' && state != 'X';
}

std::string process_exe_arg(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string arg0;
  std::getline(f, arg0, '\0');
  return arg0;
}

bool stop_process(pid_t pid, int grace_ms) {
  using clock = std::chrono::steady_clock;
  if (!process_alive(pid)) return true;
  kill(pid, SIGTERM);
  auto wait_gone = [&](int ms) {
    auto end = clock::now() + std::chrono::milliseconds(ms);
    while (clock::now() < end) {
      if (!process_alive(pid)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return !process_alive(pid);
  };
  if (wait_gone(grace_ms)) return true;
  kill(pid, SIGKILL);
  return wait_gone(2000);
}

bool wait_tcp_listening(const std::string& ip, int port, pid_t pid, int timeout_ms) {
  using clock = std::chrono::steady_clock;
  auto end = clock::now() + std::chrono::milliseconds(timeout_ms);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return false;
  while (clock::now() < end) {
    if (pid > 0 && !process_alive(pid)) return false;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool tcp_port_free(const std::string& ip, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  if (inet_pton(AF_INET, ip.c_str(), &addr.sin_addr) != 1) return false;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::string last_line_of(const std::string& path) {
  std::ifstream f(path);
  std::string line, last;
  while (std::getline(f, line))
    if (!line.empty()) last = line;
  return last;
}

}  // namespace coinfer::testbed
