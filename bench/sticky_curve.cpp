// sticky_curve: worker CPU to run one workflow of N steps to completion, sticky cache on vs off.
//
// The history of one run is the generator's, cut at each WorkflowTaskStarted: that is what the
// worker is handed for each of its N+1 workflow tasks.
//   on:  one WorkflowRun kept in the cache, fed each task's new events (linear in N);
//   off: a fresh WorkflowRun per task, fed the whole history so far (every task replays all the
//        earlier ones: quadratic in N).
// "off" is skipped when its predicted time (last measured x (N/N_last)^2) exceeds --budget.
//
//   sticky_curve --n 10,100,1000,10000 --budget 120 --out bench/results/sticky.jsonl
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "bench_util.h"
#include "history_generator.h"

using namespace reprise;
using namespace reprise::bench;

namespace {

void check(const Activation& a, std::size_t task) {
  if (!a.ok()) throw std::runtime_error("task " + std::to_string(task) + " failed: " + a.failure->failure.message());
}

// CPU seconds of one complete run of the workflow, as the worker would spend it.
double run_once(const WorkflowRegistry& registry, const std::string& shape, const std::vector<HistoryEvent>& events,
                const std::vector<std::size_t>& points, bool sticky) {
  std::span<const HistoryEvent> all(events);
  double t0 = cpu_seconds();
  if (sticky) {
    WorkflowRun run(registry, start_info(shape));
    std::size_t from = 0;
    for (std::size_t k = 0; k < points.size(); ++k) {
      check(run.activate(all.subspan(from, points[k] + 1 - from)), k);
      from = points[k] + 1;
    }
  } else {
    for (std::size_t k = 0; k < points.size(); ++k) {
      WorkflowRun run(registry, start_info(shape));
      check(run.activate(all.first(points[k] + 1)), k);
    }
  }
  return cpu_seconds() - t0;
}

// Repeats small cases until `min_seconds` of CPU, returns CPU seconds per run.
double measure(const WorkflowRegistry& registry, const std::string& shape, const std::vector<HistoryEvent>& events,
               const std::vector<std::size_t>& points, bool sticky, double min_seconds) {
  run_once(registry, shape, events, points, sticky);  // warm-up
  double total = 0;
  int runs = 0;
  do {
    total += run_once(registry, shape, events, points, sticky);
    ++runs;
  } while (total < min_seconds);
  return total / runs;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Worker CPU per workflow with the sticky cache on and off"};
  std::string shape = "sequential";
  std::vector<int> ns{10, 100, 1000, 10000};
  double budget = 120;
  double min_seconds = 0.3;
  std::string out;
  app.add_option("--shape", shape, "history shape (see history_generator.h)");
  app.add_option("--n", ns, "step counts")->delimiter(',');
  app.add_option("--budget", budget, "skip 'off' when its predicted CPU seconds exceed this (from the second N on)");
  app.add_option("--min-seconds", min_seconds, "repeat each measurement until this much CPU");
  app.add_option("--out", out, "append one JSON line per N to this file");
  CLI11_PARSE(app, argc, argv);

  try {
    const nlohmann::json stamp = provenance();
    std::ofstream jsonl;
    if (!out.empty()) jsonl.open(out, std::ios::app);
    WorkflowRegistry registry = make_registry();
    std::printf("%-10s %7s %8s %7s %14s %14s %10s %14s\n", "shape", "n", "events", "tasks", "cpu on (s)",
                "cpu off (s)", "off/on", "on us/step");
    double last_off = 0;
    int last_n = 0;
    for (int n : ns) {
      auto events = generate_history(shape, n);
      auto points = task_points(events);
      double on = measure(registry, shape, events, points, true, min_seconds);
      double predicted_off = last_n > 0 ? last_off * (double(n) / last_n) * (double(n) / last_n) : 0;
      bool skip_off = predicted_off > budget;
      double off = skip_off ? 0 : measure(registry, shape, events, points, false, min_seconds);
      if (!skip_off) last_off = off, last_n = n;
      char off_text[32], ratio_text[32];
      std::snprintf(off_text, sizeof off_text, skip_off ? "skipped" : "%.6f", off);
      std::snprintf(ratio_text, sizeof ratio_text, skip_off ? "-" : "%.1f", off / on);
      std::printf("%-10s %7d %8zu %7zu %14.6f %14s %10s %14.2f\n", shape.c_str(), n, events.size(), points.size(),
                  on, off_text, ratio_text, on / std::max(n, 1) * 1e6);
      if (skip_off)
        std::printf("  (off skipped: predicted %.0f s of CPU, over the --budget of %.0f s)\n", predicted_off, budget);
      std::fflush(stdout);
      if (jsonl.is_open()) {
        nlohmann::json line = stamp;
        line["bench"] = "sticky";
        line["shape"] = shape;
        line["n"] = n;
        line["events"] = events.size();
        line["workflow_tasks"] = points.size();
        line["metrics"] = {{"cpu_seconds_on", on}, {"peak_rss_kb", peak_rss_kb()}};
        if (skip_off) {
          line["metrics"]["off_skipped_predicted_seconds"] = predicted_off;
        } else {
          line["metrics"]["cpu_seconds_off"] = off;
          line["metrics"]["ratio_off_on"] = off / on;
        }
        jsonl << line.dump() << "\n";
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sticky_curve: %s\n", e.what());
    return 1;
  }
  return 0;
}
