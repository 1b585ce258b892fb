// Lab 1, the hello workflow: a workflow calls an activity, sleeps durably, and calls a flaky
// activity that fails twice before it succeeds. This file is the worker process: it registers the
// workflow and its activities and polls the task queue "hello" until it is stopped.
//
//   build/examples/hello/hello_worker [--address 127.0.0.1:7233]
//
// Run the whole lab with examples/hello/run.sh; README.md beside this file says what to watch for.
#include <cstring>
#include <iostream>

#include "reprise/worker.h"
#include "reprise/workflow.h"

using namespace std::chrono_literals;

// --- Activities: ordinary functions; they may do anything, and may run more than once. ---

std::string compose_greeting(reprise::ActivityContext& ctx, std::string name) { return "Hello, " + name + "!"; }

// Fails on its first two attempts. The server retries it (1 s, then 2 s later) and records only the
// attempt that counted: ActivityTaskStarted says attempt 3.
std::string flaky_fortune(reprise::ActivityContext& ctx, std::string name) {
  if (ctx.info().attempt < 3)
    throw std::runtime_error("the fortune teller is out (attempt " + std::to_string(ctx.info().attempt) + ")");
  return "Good things come to those who replay, " + name + ".";
}

// --- The workflow: deterministic code that only asks the server for things. ---

reprise::Workflow<std::string> greet(reprise::WorkflowContext& ctx, std::string name) {
  auto greeting = co_await ctx.execute_activity<std::string>("compose_greeting", {.start_to_close_timeout = 10s}, name);
  co_await ctx.sleep(2s);  // a durable timer: it survives the worker and the server
  auto fortune = co_await ctx.execute_activity<std::string>(
      "flaky_fortune", {.start_to_close_timeout = 10s, .retry_policy = reprise::RetryPolicy{.initial_interval = 1s}},
      name);
  co_return greeting + " " + fortune;
}

int main(int argc, char** argv) {
  reprise::ClientOptions client_options;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--address") == 0) client_options.address = argv[i + 1];
  reprise::Client client(client_options);
  reprise::Worker worker(client, {.task_queue = "hello"});
  worker.register_workflow("greet", greet);
  worker.register_activity("compose_greeting", compose_greeting);
  worker.register_activity("flaky_fortune", flaky_fortune);
  std::cerr << "hello worker: polling task queue 'hello' on " << client_options.address << " (Ctrl-C stops)\n";
  worker.run();
  return 0;
}
