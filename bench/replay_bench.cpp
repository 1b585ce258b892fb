// replay_bench: how fast the worker's replay engine replays whole histories, per shape and N.
//
// Each measurement replays one generated, closed history with a fresh WorkflowRun (the whole history
// in one activate(), as the Replayer and an evicted run do), after a warm-up, in `--reps` timed
// repetitions; the median repetition is reported. Beside it, the cold figure: the first replay in a
// fresh process (this program re-run with --cold), which pays for first use of everything.
//
//   replay_bench --shapes sequential,timers --n 10,100,1000 --out bench/results/replay.jsonl
//   replay_bench --verify --n 10,1000,100000        check that every shape replays, then exit
//   replay_bench --export sequential:100:seq.json   write a generated history as Temporal JSON
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench_util.h"
#include "history/history_json.h"
#include "history_generator.h"

using namespace reprise;
using namespace reprise::bench;

namespace {

std::pair<std::string, int> shape_and_n(const std::string& spec) {  // "sequential:100"
  auto colon = spec.find(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected SHAPE:N, got " + spec);
  return {spec.substr(0, colon), std::stoi(spec.substr(colon + 1))};
}

// One replay of the whole history with a fresh run; throws if the replay fails.
void replay_once(const WorkflowRegistry& registry, const std::string& shape, std::span<const HistoryEvent> events) {
  WorkflowRun run(registry, start_info(shape));
  Activation a = run.activate(events);
  if (!a.ok()) throw std::runtime_error(shape + ": replay failed: " + a.failure->failure.message());
}

// --cold: the first replay in this process. Prints "<seconds> <peak rss KiB>".
int cold(const std::string& spec) {
  auto [shape, n] = shape_and_n(spec);
  auto events = generate_history(shape, n);
  double t0 = wall_seconds();
  WorkflowRegistry registry = make_registry();
  replay_once(registry, shape, events);
  double seconds = wall_seconds() - t0;
  std::printf("%.9f %ld\n", seconds, peak_rss_kb());
  return 0;
}

struct Cold {
  double seconds = 0;
  long rss_kb = 0;
};
Cold cold_in_child(const std::string& shape, int n) {
  std::string spec = shape + ":" + std::to_string(n);
  const std::string self = self_executable();
  if (self.empty()) return {};
  std::string out_path = "/tmp/replay_bench_cold." + std::to_string(getpid());
  std::string command = self + " --cold " + spec + " > " + out_path;
  if (std::system(command.c_str()) != 0) throw std::runtime_error("cold run failed: " + command);
  std::ifstream in(out_path);
  Cold c;
  in >> c.seconds >> c.rss_kb;
  std::remove(out_path.c_str());
  return c;
}

int verify_all(const std::vector<std::string>& shapes, const std::vector<int>& ns) {
  WorkflowRegistry registry = make_registry();
  int failures = 0;
  for (const auto& shape : shapes)
    for (int n : ns) {
      auto events = generate_history(shape, n);
      std::string problem = verify(registry, shape, n, events);
      std::printf("verify %-10s n=%-7d %8zu events: %s\n", shape.c_str(), n, events.size(),
                  problem.empty() ? "ok" : problem.c_str());
      failures += !problem.empty();
    }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Replay throughput of the Reprise worker library"};
  std::vector<std::string> shapes = shape_names();
  std::vector<int> ns{10, 100, 1000};
  int reps = 5;
  double seconds_per_measurement = 1.0;
  std::string out;
  bool verify_only = false;
  bool no_cold = false;
  std::string export_spec, export_path, cold_spec;
  app.add_option("--shapes", shapes, "shapes to run")->delimiter(',');
  app.add_option("--n", ns, "step counts")->delimiter(',');
  app.add_option("--reps", reps, "timed repetitions per measurement (the median is reported)");
  app.add_option("--seconds", seconds_per_measurement, "time budget per measurement, spread over the repetitions");
  app.add_option("--out", out, "append one JSON line per measurement to this file");
  app.add_flag("--verify", verify_only, "check that every shape x N replays to completion, then exit");
  app.add_flag("--no-cold", no_cold, "skip the cold-start run (one child process per measurement)");
  app.add_option("--export", export_spec, "SHAPE:N: write that history as Temporal JSON to --export-to, then exit");
  app.add_option("--export-to", export_path, "file for --export (default: stdout)");
  app.add_option("--cold", cold_spec, "internal: time the first replay of SHAPE:N in this process");
  CLI11_PARSE(app, argc, argv);

  try {
    if (!cold_spec.empty()) return cold(cold_spec);
    if (!export_spec.empty()) {
      auto [shape, n] = shape_and_n(export_spec);
      std::string json = history::history_to_json(to_history(generate_history(shape, n)));
      if (export_path.empty()) {
        std::cout << json << "\n";
      } else {
        std::ofstream(export_path) << json << "\n";
      }
      return 0;
    }
    if (verify_only) return verify_all(shapes, ns);

    // Startup check: every shape replays to completion at small N (and at each N up to 1,000).
    std::vector<int> check_ns{10};
    for (int n : ns)
      if (n <= 1000 && n != 10) check_ns.push_back(n);
    if (verify_all(shapes, check_ns) != 0) return 1;

    const nlohmann::json stamp = provenance();
    std::ofstream jsonl;
    if (!out.empty()) jsonl.open(out, std::ios::app);
    std::printf("\n%-10s %7s %8s %12s %12s %10s %10s %12s %10s %10s\n", "shape", "n", "events", "histories/s",
                "events/s", "ns/event", "rss MiB", "cold ms", "warm ms", "cold MiB");
    WorkflowRegistry registry = make_registry();
    for (const auto& shape : shapes)
      for (int n : ns) {
        Cold c = no_cold ? Cold{} : cold_in_child(shape, n);
        auto events = generate_history(shape, n);
        std::span<const HistoryEvent> all(events);
        // Warm-up: at least one replay and about a tenth of the budget.
        double until = wall_seconds() + seconds_per_measurement / 10;
        do replay_once(registry, shape, all);
        while (wall_seconds() < until);
        // Repetitions: each replays the history `iterations` times, sized from the warm-up.
        double t0 = wall_seconds();
        replay_once(registry, shape, all);
        double one = wall_seconds() - t0;
        long iterations = std::max<long>(1, static_cast<long>(seconds_per_measurement / reps / std::max(one, 1e-9)));
        std::vector<double> per_history;
        for (int r = 0; r < reps; ++r) {
          double start = wall_seconds();
          for (long i = 0; i < iterations; ++i) replay_once(registry, shape, all);
          per_history.push_back((wall_seconds() - start) / static_cast<double>(iterations));
        }
        std::sort(per_history.begin(), per_history.end());
        const double median = per_history[per_history.size() / 2];
        const double events_count = static_cast<double>(events.size());
        const long rss = peak_rss_kb();
        std::printf("%-10s %7d %8zu %12.1f %12.0f %10.1f %10.1f %12.3f %10.3f %10.1f\n", shape.c_str(), n,
                    events.size(), 1 / median, events_count / median, median * 1e9 / events_count, rss / 1024.0,
                    c.seconds * 1e3, median * 1e3, c.rss_kb / 1024.0);
        std::fflush(stdout);
        if (jsonl.is_open()) {
          nlohmann::json line = stamp;
          line["bench"] = "replay";
          line["shape"] = shape;
          line["n"] = n;
          line["events"] = events.size();
          line["metrics"] = {{"histories_per_s", 1 / median},
                             {"events_per_s", events_count / median},
                             {"ns_per_event", median * 1e9 / events_count},
                             {"warm_seconds_per_history", median},
                             {"min_seconds_per_history", per_history.front()},
                             {"max_seconds_per_history", per_history.back()},
                             {"reps", reps},
                             {"iterations_per_rep", iterations},
                             {"peak_rss_kb", rss},
                             {"cold_seconds", c.seconds},
                             {"cold_peak_rss_kb", c.rss_kb}};
          jsonl << line.dump() << "\n";
        }
      }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "replay_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
