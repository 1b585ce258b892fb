// The C++ half of the interop suite (src/test/interop.test.ts): a Reprise C++ worker that serves an
// activity to TypeScript workflows, and Reprise's replayer reading histories the TypeScript SDK wrote.
//
//   interop_cpp_worker --address 127.0.0.1:PORT --task-queue interop-cpp   serve compose_greeting
//   interop_cpp_worker replay FILE...   replay each history JSON (from the SDK's historyToJSON)
//                                       against greet below; prints "FILE: replayed" or the error
//
// greet is the C++ twin of the TypeScript greet in src/workflows.ts: the same activity type and
// options, then the same 1 s timer. Temporal's SDKs and Reprise's number activities and timers the
// same way, so a history written by the TypeScript workflow replays against this code unchanged.
#include <cstring>
#include <iostream>
#include <optional>
#include <string>

#include "reprise/replayer.h"
#include "reprise/worker.h"
#include "reprise/workflow.h"

using namespace std::chrono_literals;

namespace {

std::string compose_greeting(reprise::ActivityContext&, std::string name) { return "Hello from C++, " + name + "!"; }

reprise::Workflow<std::string> greet(reprise::WorkflowContext& ctx, std::string name,
                                     std::optional<int> fail_until_attempt) {
  auto greeting = co_await ctx.execute_activity<std::string>(
      "composeGreeting",
      {.start_to_close_timeout = 10s,
       .retry_policy =
           reprise::RetryPolicy{.initial_interval = 100ms, .backoff_coefficient = 1, .maximum_attempts = 5}},
      name, fail_until_attempt.value_or(1));
  co_await ctx.sleep(1s);
  co_return greeting;
}

int replay(int argc, char** argv) {
  reprise::WorkflowRegistry registry;
  registry.register_workflow("greet", greet);
  reprise::Replayer replayer(registry);
  int failures = 0;
  for (int i = 2; i < argc; ++i) {
    auto result = replayer.replay_file(argv[i]);
    std::cout << argv[i] << ": " << (result.ok() ? "replayed" : result.message) << "\n";
    if (!result.ok()) ++failures;
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 2 && std::strcmp(argv[1], "replay") == 0) return replay(argc, argv);
    reprise::ClientOptions client_options;
    std::string task_queue = "interop-cpp";
    for (int i = 1; i + 1 < argc; i += 2) {
      if (std::strcmp(argv[i], "--address") == 0) client_options.address = argv[i + 1];
      if (std::strcmp(argv[i], "--task-queue") == 0) task_queue = argv[i + 1];
    }
    reprise::Client client(client_options);
    reprise::Worker worker(client, {.task_queue = task_queue, .identity = "reprise-cpp-worker"});
    worker.register_activity("compose_greeting", compose_greeting);
    worker.run();
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "interop_cpp_worker: " << e.what() << "\n";
    return 1;
  }
}
