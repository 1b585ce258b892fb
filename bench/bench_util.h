// Small helpers shared by the bench programs: clocks, peak memory, and the fields every result
// line carries (the commit and the machine).
#pragma once

#include <sys/resource.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

namespace reprise::bench {

inline double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of this process (user + system), in seconds.
inline double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Peak resident set size of this process so far, in KiB.
inline long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

inline std::string command_output(const char* command) {
  std::string out;
  if (FILE* pipe = popen(command, "r")) {
    char buffer[256];
    while (fgets(buffer, sizeof buffer, pipe)) out += buffer;
    pclose(pipe);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// The path of this program (to re-run itself in another role); empty if /proc is missing.
inline std::string self_executable() {
  char path[4096];
  const ssize_t len = readlink("/proc/self/exe", path, sizeof path - 1);
  return len > 0 ? std::string(path, static_cast<size_t>(len)) : std::string();
}

// The allocator a process runs on: "jemalloc" when libjemalloc is mapped into it (CMakeLists.txt,
// REPRISE_JEMALLOC), else "glibc". Results are only comparable on the same allocator.
inline std::string allocator_of(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  for (std::string line; std::getline(maps, line);)
    if (line.find("libjemalloc") != std::string::npos) return "jemalloc";
  return "glibc";
}

// {"commit": "a4d2079", "allocator": "jemalloc", "machine": {"nproc": 2, "cpu": "..."}}: stamped on every result line.
inline nlohmann::json provenance() {
  std::string model;
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  std::string commit = command_output("git rev-parse --short HEAD 2>/dev/null");
  // Dirty = uncommitted changes to the code; the result files a run appends to do not count.
  if (!command_output("git status --porcelain --untracked-files=no -- . ':!bench/results' 2>/dev/null").empty())
    commit += "-dirty";
  return {{"commit", commit},
          {"allocator", allocator_of(getpid())},
          {"machine", {{"nproc", std::thread::hardware_concurrency()}, {"cpu", model}}},
          {"time", static_cast<long long>(std::time(nullptr))}};
}

}  // namespace reprise::bench
