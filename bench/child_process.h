// The processes the end-to-end benchmark starts (the server, the workers) and what it reads about
// them from /proc: CPU time and peak memory. Every child is started here, with its output in a log
// file, and stopped here by its own PID; none outlives the benchmark (PR_SET_PDEATHSIG, and stop()
// escalates to SIGKILL). Used by e2e_bench.cpp; exercised by the e2e_bench smoke test under ctest.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace reprise::bench {

class ChildProcess {
 public:
  // Starts argv[0] with the given arguments; its stdout and stderr go to log_path.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path) : log_path_(log_path) {
    // Emptied here, before the fork: a log left by an earlier process of the same name must not
    // be read as this one's (its port, say) before the child gets to truncate it.
    std::ofstream(log_path, std::ios::trunc);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // the benchmark died: so do its children
      if (getppid() != parent) _exit(127);
      const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
      }
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string log() const {
    std::ifstream in(log_path_);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  bool running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_status_ = status;
    }
    return !exited_;
  }

  // SIGTERM, then up to `grace` for a clean exit, then SIGKILL. Returns true for a clean exit
  // (status 0 after SIGTERM). Idempotent.
  bool stop(std::chrono::milliseconds grace = std::chrono::seconds(20)) {
    if (running()) {
      ::kill(pid_, SIGTERM);
      const auto give_up = std::chrono::steady_clock::now() + grace;
      while (running() && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (running()) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &exit_status_, 0);
        exited_ = true;
        killed_ = true;
      }
    }
    return !killed_ && WIFEXITED(exit_status_) && WEXITSTATUS(exit_status_) == 0;
  }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  bool exited_ = false;
  bool killed_ = false;
  int exit_status_ = 0;
};

// Context switches (voluntary + involuntary) of all of a process's live threads so far, from
// /proc/<pid>/task/*/status: a count of thread hand-offs that, unlike CPU time, does not depend on
// how busy the machine is.
inline long process_context_switches(pid_t pid) {
  long sum = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "status");
    for (std::string line; std::getline(in, line);)
      if (line.starts_with("voluntary_ctxt_switches:") || line.starts_with("nonvoluntary_ctxt_switches:"))
        sum += std::stol(line.substr(line.find(':') + 1));
  }
  return sum;
}

// User + system CPU seconds from a /proc stat file (fields 14 and 15): a process's
// (/proc/<pid>/stat) or one of its threads' (/proc/<pid>/task/<tid>/stat).
inline double stat_cpu_seconds(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close_paren = stat.rfind(')');  // the command name may hold spaces
  if (close_paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close_paren + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state, right after the name
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

inline double process_cpu_seconds(pid_t pid) { return stat_cpu_seconds("/proc/" + std::to_string(pid) + "/stat"); }

// CPU seconds so far of each of a process's live threads, keyed by thread id, with the thread's
// name (/proc/<pid>/task/<tid>/comm: "reprise-writer", gRPC's "nexting_thread", ...).
struct ThreadCpu {
  std::string name;
  double seconds = 0;
};
inline std::map<std::string, ThreadCpu> thread_cpu_seconds(pid_t pid) {
  std::map<std::string, ThreadCpu> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    ThreadCpu t;
    std::getline(comm, t.name);
    t.seconds = stat_cpu_seconds((task.path() / "stat").string());
    out[task.path().filename().string()] = t;
  }
  return out;
}

// What each kind of thread (threads grouped by name) spent between two thread_cpu_seconds
// snapshots, as shares of what the whole process spent meanwhile (process_seconds); time of
// threads that ended in between is "(threads gone)".
inline std::map<std::string, double> cpu_share_by_thread_name(const std::map<std::string, ThreadCpu>& before,
                                                              const std::map<std::string, ThreadCpu>& after,
                                                              double process_seconds) {
  std::map<std::string, double> share;
  if (process_seconds <= 0) return share;
  double seen = 0;
  for (const auto& [tid, t] : after) {
    auto it = before.find(tid);
    const double spent = t.seconds - (it != before.end() ? it->second.seconds : 0.0);
    share[t.name] += spent / process_seconds;
    seen += spent;
  }
  if (process_seconds > seen) {
    share["(threads gone)"] = (process_seconds - seen) / process_seconds;
  } else {
    for (auto& [name, s] : share) s = s * process_seconds / seen;  // clock-tick rounding: sum to 1
  }
  return share;
}

// A "VmHWM:   12345 kB" style line of /proc/<pid>/status, in KiB (VmHWM is the peak resident set).
inline long process_status_kb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return 0;
}

// The 1-minute load average.
inline double load_average() {
  std::ifstream in("/proc/loadavg");
  double one = 0;
  in >> one;
  return one;
}

// The share of the last 10 s in which some runnable task waited for a CPU (/proc/pressure/cpu,
// "some avg10", in percent): how much other work on the machine competed with the benchmark.
inline double cpu_pressure() {
  std::ifstream in("/proc/pressure/cpu");
  std::string some, avg10;
  in >> some >> avg10;  // "some avg10=12.34 ..."
  return avg10.rfind("avg10=", 0) == 0 ? std::stod(avg10.substr(6)) : 0;
}

}  // namespace reprise::bench
