// Lab 2, kill the worker: a four-step pipeline (an activity per step, a durable sleep between
// steps). Each step appends one line to a side-effects file, so you can count how often each
// activity really ran. This file is the worker process; examples/kill_worker/run.sh kills it in the
// middle of the workflow, starts a new one, and later kills and restarts the server too.
//
//   build/examples/kill_worker/pipeline_worker --address 127.0.0.1:7233 --side-effects FILE
#include <cstring>
#include <fstream>
#include <iostream>

#include "reprise/worker.h"
#include "reprise/workflow.h"

using namespace std::chrono_literals;

namespace {
std::string side_effects_file = "side-effects.txt";
}

// The side effect we must not repeat: one line per run of a step.
std::string run_step(reprise::ActivityContext& ctx, int step) {
  std::ofstream(side_effects_file, std::ios::app) << "step " << step << " ran (attempt " << ctx.info().attempt << ")\n";
  return "step " + std::to_string(step) + " done";
}

reprise::Workflow<std::string> pipeline(reprise::WorkflowContext& ctx, int steps) {
  std::string log;
  for (int step = 1; step <= steps; ++step) {
    ctx.logger().info("running step {}", step);  // quiet while replaying: printed once per step
    log += co_await ctx.execute_activity<std::string>("run_step", {.start_to_close_timeout = 10s}, step);
    log += "; ";
    co_await ctx.sleep(2s);
  }
  co_return log;
}

int main(int argc, char** argv) {
  reprise::ClientOptions client_options;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--address") == 0) client_options.address = argv[i + 1];
    if (std::strcmp(argv[i], "--side-effects") == 0) side_effects_file = argv[i + 1];
  }
  reprise::Client client(client_options);
  // A short sticky timeout: when this worker dies, its workflow moves to another worker in 2 s.
  reprise::Worker worker(client, {.task_queue = "pipeline", .sticky_schedule_to_start_timeout = 2s});
  worker.register_workflow("pipeline", pipeline);
  worker.register_activity("run_step", run_step);
  std::cerr << "pipeline worker " << getpid() << ": polling task queue 'pipeline'\n";
  worker.run();
  auto stats = worker.stats();
  std::cerr << "pipeline worker " << getpid() << ": " << stats.workflow_tasks << " workflow tasks, "
            << stats.full_replays << " full replays (" << stats.events_replayed << " events replayed), "
            << stats.activity_tasks << " activities run\n";
  return 0;
}
