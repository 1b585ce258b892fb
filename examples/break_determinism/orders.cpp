// Lab 3, break determinism: one workflow in three versions, chosen with --version.
//   v1          reserve stock, sleep 5 s, charge the card
//   v2-rand     picks its first activity with std::rand(): replay no longer reproduces history
//   v2-reorder  sleeps before reserving: the same steps in another order
// A run started under v1 and parked in its sleep cannot be continued by a v2 worker: the worker
// replays the history, the code asks for a different first command, and the replay engine reports
// a nondeterminism error naming the event, the command and this file's line. Going back to v1
// lets the run finish. examples/break_determinism/run.sh plays this out.
//
//   build/examples/break_determinism/orders_worker --version v1|v2-rand|v2-reorder [--address A]
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "reprise/worker.h"
#include "reprise/workflow.h"

using namespace std::chrono_literals;

std::string reserve_stock(reprise::ActivityContext&, std::string order) { return "reserved " + order; }
std::string check_fraud(reprise::ActivityContext&, std::string order) { return "no fraud in " + order; }
std::string charge_card(reprise::ActivityContext&, std::string order) { return "charged " + order; }

const reprise::ActivityOptions kOptions{.start_to_close_timeout = 10s};

reprise::Workflow<std::string> order_v1(reprise::WorkflowContext& ctx, std::string order) {
  auto reserved = co_await ctx.execute_activity<std::string>("reserve_stock", kOptions, order);
  co_await ctx.sleep(5s);
  auto charged = co_await ctx.execute_activity<std::string>("charge_card", kOptions, order);
  co_return reserved + ", " + charged;
}

// WRONG: std::rand() is not part of history, so replay may pick differently from the run that wrote
// the history. This version picks check_fraud 9 times in 10; v1's history says reserve_stock came
// first, so replay fails on most tries, and on the others it goes on. Either way the outcome depends
// on a dice roll instead of on history: that is what "nondeterministic" means.
reprise::Workflow<std::string> order_v2_rand(reprise::WorkflowContext& ctx, std::string order) {
  const char* first = std::rand() % 100 < 90 ? "check_fraud" : "reserve_stock";
  auto reserved = co_await ctx.execute_activity<std::string>(first, kOptions, order);
  co_await ctx.sleep(5s);
  auto charged = co_await ctx.execute_activity<std::string>("charge_card", kOptions, order);
  co_return reserved + ", " + charged;
}

// WRONG for running workflows: reordering steps changes the command sequence history recorded.
reprise::Workflow<std::string> order_v2_reorder(reprise::WorkflowContext& ctx, std::string order) {
  co_await ctx.sleep(5s);
  auto reserved = co_await ctx.execute_activity<std::string>("reserve_stock", kOptions, order);
  auto charged = co_await ctx.execute_activity<std::string>("charge_card", kOptions, order);
  co_return reserved + ", " + charged;
}

int main(int argc, char** argv) {
  reprise::ClientOptions client_options;
  std::string version = "v1";
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--address") == 0) client_options.address = argv[i + 1];
    if (std::strcmp(argv[i], "--version") == 0) version = argv[i + 1];
  }
  reprise::Client client(client_options);
  reprise::Worker worker(client, {.task_queue = "orders", .sticky_schedule_to_start_timeout = 1s});
  if (version == "v1")
    worker.register_workflow("order", order_v1);
  else if (version == "v2-rand")
    worker.register_workflow("order", order_v2_rand);
  else if (version == "v2-reorder")
    worker.register_workflow("order", order_v2_reorder);
  else {
    std::cerr << "orders_worker: --version must be v1, v2-rand or v2-reorder\n";
    return 2;
  }
  worker.register_activity("reserve_stock", reserve_stock);
  worker.register_activity("check_fraud", check_fraud);
  worker.register_activity("charge_card", charge_card);
  std::cerr << "orders worker " << version << ": polling task queue 'orders'\n";
  worker.run();
  return 0;
}
