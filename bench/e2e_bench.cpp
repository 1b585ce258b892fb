// e2e_bench: the whole system under load, end to end, with durable commits.
//
// One run = a fresh SQLite file, a `reprise server start-dev` process on it (synchronous=FULL unless
// --sync says otherwise), W worker processes (this program with --role worker: C++ Reprise workers
// registering the workflow and activity below) and, in this process, a load generator keeping C
// workflows in flight at once through reprise::Client's asynchronous calls, each started and then
// waited for until its result. A workflow runs K sequential activities (K = 1 and K = 10 by default), each adding one to
// its input, so the result must be input + K: every result is checked.
//
// Each run: a warm-up (not measured), then the measured phase, bounded by --count workflows and
// --seconds of wall time, whichever comes first; then every process is stopped by its PID and the
// database is inspected. Reported per run: completed workflows/s and activities/s, start-to-result
// latency (p50, p99), CPU of the server / the workers / the load generator during the measured
// phase (from /proc/<pid>/stat), the server's CPU split by thread name (/proc/<pid>/task/*: the
// store's writer and answerer, gRPC's threads, the engine's), their context switches (thread
// hand-offs, /proc/<pid>/task/*/status), the server's peak RSS (VmHWM), SQLite COMMITs (= fsync groups,
// counted by the store and logged by the server at shutdown) per workflow, and bytes on disk per
// history event (database + WAL after a checkpoint, over all events of the run).
//
//   e2e_bench --activities 1,10 --concurrency 16,64 --count 20000 --seconds 20 --out bench/results/e2e.jsonl
//   e2e_bench --count 20 --concurrency 4 --workers 1 --seconds 300    (the ctest smoke test)
//   e2e_bench --rpc-floor 16 --seconds 3    (the cost of one bare RPC, for scale)
//
// Exit status 1 if any workflow did not complete with the right result. bench/run.sh runs it;
// tests/bench runs it on 20 workflows under ctest (never asserting speed).
#include <grpcpp/create_channel.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <regex>
#include <thread>

#include "bench_util.h"
#include "child_process.h"
#include "reprise/client.h"
#include "reprise/worker.h"
#include "reprise/workflow.h"
#include "temporal/api/workflowservice/v1/service.grpc.pb.h"

using namespace std::chrono_literals;
using namespace reprise::bench;
namespace fs = std::filesystem;

namespace {

constexpr const char* kTaskQueue = "e2e-bench";
constexpr const char* kWorkflowType = "sequential_activities";

// --- What the workers run -----------------------------------------------------------------------

int64_t add_one(reprise::ActivityContext&, int64_t x) { return x + 1; }

reprise::Workflow<int64_t> sequential_activities(reprise::WorkflowContext& ctx, int64_t x, int64_t steps) {
  for (int64_t i = 0; i < steps; ++i)
    x = co_await ctx.execute_activity<int64_t>("add_one", {.start_to_close_timeout = 10s}, x);
  co_return x;
}

// Pollers per worker process. A poller holds its task through the reply's durable commit, so the
// pollers of all workers bound how many transactions can share one fsync, and a workflow task finds
// a poller already waiting (and starts in its scheduling commit, engine/matching.h) only if one is
// idle: hence many workflow pollers, which cost a parked thread each. The library's defaults (2
// each) are sized for labs, these for load (bench/README.md has both measured).
struct WorkerFlags {
  int workflow_pollers = 32;
  int sticky_workflow_pollers = 32;
  int activity_pollers = 8;
  int max_concurrent_activities = 64;
  // add_one returns at once, so by default it runs where its task arrives (reprise/activity.h);
  // --blocking-activities hands it to the activity pool as before optimisation 28.
  bool blocking_activities = false;
};

// --role worker: one worker process, until SIGTERM; its counters go to its log on the way out.
int run_worker(const std::string& address, const WorkerFlags& flags) {
  reprise::Client client({.address = address});
  reprise::Worker worker(client, {.task_queue = kTaskQueue,
                                  .workflow_pollers = flags.workflow_pollers,
                                  .sticky_workflow_pollers = flags.sticky_workflow_pollers,
                                  .activity_pollers = flags.activity_pollers,
                                  .max_concurrent_activities = flags.max_concurrent_activities});
  worker.register_workflow(kWorkflowType, sequential_activities);
  worker.register_activity(
      "add_one", add_one,
      flags.blocking_activities ? reprise::ActivityKind::Blocking : reprise::ActivityKind::NonBlocking);
  worker.run();
  auto s = worker.stats();
  std::printf("worker stats: workflow_tasks=%lu cache_hits=%lu full_replays=%lu activity_tasks=%lu failures=%lu\n",
              static_cast<unsigned long>(s.workflow_tasks), static_cast<unsigned long>(s.cache_hits),
              static_cast<unsigned long>(s.full_replays), static_cast<unsigned long>(s.activity_tasks),
              static_cast<unsigned long>(s.workflow_task_failures + s.activity_failures));
  return 0;
}

// --- The load generator -------------------------------------------------------------------------

struct Load {
  int64_t completed = 0;  // with the right result
  int64_t wrong = 0;      // completed with another result
  int64_t failed = 0;     // start or result threw
  std::vector<double> latencies_ms;
  double seconds = 0;  // from the first start to the last result
  std::string first_error;
};

// Keeps `concurrency` workflows in flight until `count` were started or `seconds` passed, then
// waits for the ones in flight. Workflow i gets input i and must return i + steps. Each of the
// `concurrency` slots is a chain of asynchronous client calls (start, then result, then the next
// start, each from the completion of the one before), as a program using an asynchronous SDK
// client keeps many workflows going: no thread per workflow in flight.
struct LoadChains : std::enable_shared_from_this<LoadChains> {
  LoadChains(reprise::Client& client, std::string phase, int64_t steps, int64_t count, double stop_starting)
      : client(client), phase(std::move(phase)), steps(steps), count(count), stop_starting(stop_starting) {}

  // Starts the chain's next workflow, or ends the chain when there is none left to start.
  void start_next() {
    const int64_t i = next.fetch_add(1);
    if (i >= count || wall_seconds() >= stop_starting) {
      std::lock_guard lock(mu);
      if (--chains_running == 0) all_done.notify_all();
      return;
    }
    const double started = wall_seconds();
    auto self = shared_from_this();
    client.start_workflow_async(
        kWorkflowType, {.id = phase + "-" + std::to_string(i), .task_queue = kTaskQueue},
        reprise::json_payloads({i, steps}), [self, i, started](reprise::Outcome<reprise::WorkflowHandle> handle) {
          if (handle.error) return self->finished(i, started, handle.error, nullptr);
          handle.get().result_async(
              [self, i, started](reprise::Outcome<reprise::Payloads> outcome) {
                nlohmann::json result;
                try {
                  const auto& payloads = outcome.get();
                  result = payloads.payloads_size() ? reprise::payload_json(payloads.payloads(0)) : nullptr;
                } catch (...) {
                  return self->finished(i, started, std::current_exception(), nullptr);
                }
                self->finished(i, started, nullptr, &result);
              },
              60s);
        });
  }

  // Records how workflow i ended, then goes on with the chain.
  void finished(int64_t i, double started, std::exception_ptr error, const nlohmann::json* result) {
    {
      std::lock_guard lock(mu);
      if (error) {
        ++load.failed;
        if (load.first_error.empty()) {
          try {
            std::rethrow_exception(error);
          } catch (const std::exception& e) {
            load.first_error = e.what();
          }
        }
      } else if (*result == i + steps) {
        ++load.completed;
        load.latencies_ms.push_back((wall_seconds() - started) * 1e3);
      } else {
        ++load.wrong;
        if (load.first_error.empty())
          load.first_error = "workflow " + phase + "-" + std::to_string(i) + " returned " + result->dump();
      }
    }
    start_next();
  }

  reprise::Client& client;
  const std::string phase;
  const int64_t steps, count;
  const double stop_starting;
  std::atomic<int64_t> next{0};
  std::mutex mu;
  std::condition_variable all_done;
  int chains_running = 0;
  Load load;
};

Load generate_load(reprise::Client& client, const std::string& phase, int64_t steps, int concurrency, int64_t count,
                   double seconds) {
  const double t0 = wall_seconds();
  auto chains = std::make_shared<LoadChains>(client, phase, steps, count, t0 + seconds);
  chains->chains_running = concurrency;
  for (int c = 0; c < concurrency; ++c) chains->start_next();
  Load load;
  {
    std::unique_lock lock(chains->mu);
    chains->all_done.wait(lock, [&] { return chains->chains_running == 0; });
    load = std::move(chains->load);
  }
  load.seconds = wall_seconds() - t0;
  std::sort(load.latencies_ms.begin(), load.latencies_ms.end());
  return load;
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto index = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// --- One run: processes up, load, processes down, the database inspected --------------------------

struct RunOptions {
  std::string reprise_binary;
  // Set when the server is not this tree's build (--reprise): the commit that binary was built from
  // (--server-commit), else "unknown: <path>". The "commit" field names the tree, which built the
  // load generator and, unless the line says worker_binary, the workers.
  std::string server_commit;
  std::string self_binary;
  // What each worker process runs, given `--role worker ...`: this binary unless --worker-binary
  // names another (a copy built from another commit, or a script putting callgrind in front).
  std::string worker_binary;
  std::string sync = "full";
  std::string workdir;
  int workers = 2;
  WorkerFlags worker_flags;
  int64_t count = 0;
  int64_t warmup = 0;
  double seconds = 0;
  std::string label;
};

// The first capture group of `pattern` in `text`, as a number; nullopt if it does not occur.
std::optional<int64_t> find_number(const std::string& text, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex(pattern))) return std::nullopt;
  return std::stoll(m[1]);
}

int64_t sum_numbers(const std::string& text, const std::string& pattern) {
  int64_t sum = 0;
  const std::regex re(pattern);
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it)
    sum += std::stoll((*it)[1]);
  return sum;
}

struct DatabaseFigures {
  int64_t events = 0;
  int64_t executions = 0;
  int64_t bytes = 0;  // database + WAL after a checkpoint
};

DatabaseFigures inspect_database(const std::string& path) {
  DatabaseFigures figures;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close_v2(db);
    throw std::runtime_error("cannot open " + path);
  }
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int64_t value = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
      value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return value;
  };
  scalar("PRAGMA wal_checkpoint(TRUNCATE)");
  // Every run's history ends at its next_event_id - 1: a count that reads the same in every schema
  // version (one row per event until version 3, one per batch of events since 4).
  figures.events = scalar("SELECT COALESCE(SUM(next_event_id - 1), 0) FROM executions");
  figures.executions = scalar("SELECT count(*) FROM executions");
  sqlite3_close_v2(db);
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto size = fs::file_size(path + suffix, ec);
    if (!ec) figures.bytes += static_cast<int64_t>(size);
  }
  return figures;
}

// Waits until the server logs the port it listens on; throws if it exits or takes over 30 s.
int wait_for_port(ChildProcess& server) {
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < give_up) {
    if (auto port = find_number(server.log(), R"(listening on 127\.0\.0\.1:(\d+))")) return static_cast<int>(*port);
    if (!server.running()) break;
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("the server did not start; its log:\n" + server.log());
}

nlohmann::json run_one(const RunOptions& o, int64_t steps, int concurrency, bool& all_ok) {
  const std::string tag = std::to_string(steps) + "x" + std::to_string(concurrency);
  const std::string db = o.workdir + "/e2e-" + tag + ".db";
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);

  ChildProcess server({o.reprise_binary, "server", "start-dev", "--db-filename", db, "--port", "0",
                       "--sqlite-synchronous", o.sync, "--log-level", "info"},
                      o.workdir + "/server-" + tag + ".log");
  const std::string address = "127.0.0.1:" + std::to_string(wait_for_port(server));
  std::vector<std::unique_ptr<ChildProcess>> workers;
  for (int w = 0; w < o.workers; ++w) {
    std::vector<std::string> args{o.worker_binary.empty() ? o.self_binary : o.worker_binary,
                                  "--role",
                                  "worker",
                                  "--address",
                                  address,
                                  "--workflow-pollers",
                                  std::to_string(o.worker_flags.workflow_pollers),
                                  "--sticky-workflow-pollers",
                                  std::to_string(o.worker_flags.sticky_workflow_pollers),
                                  "--activity-pollers",
                                  std::to_string(o.worker_flags.activity_pollers),
                                  "--max-concurrent-activities",
                                  std::to_string(o.worker_flags.max_concurrent_activities)};
    if (o.worker_flags.blocking_activities) args.push_back("--blocking-activities");
    workers.push_back(
        std::make_unique<ChildProcess>(args, o.workdir + "/worker-" + tag + "-" + std::to_string(w) + ".log"));
  }

  std::fprintf(stderr, "run %s: server pid %d on %s, worker pids", tag.c_str(), server.pid(), address.c_str());
  for (auto& w : workers) std::fprintf(stderr, " %d", w->pid());
  std::fprintf(stderr, "\n");

  reprise::Client client({.address = address});
  const double load_before = load_average();
  Load warm = generate_load(client, "warmup", steps, concurrency, o.warmup, 1e9);

  auto cpu_of_workers = [&] {
    double sum = 0;
    for (auto& w : workers) sum += process_cpu_seconds(w->pid());
    return sum;
  };
  auto switches_of_workers = [&] {
    long sum = 0;
    for (auto& w : workers) sum += process_context_switches(w->pid());
    return sum;
  };
  const double server_cpu0 = process_cpu_seconds(server.pid()), workers_cpu0 = cpu_of_workers();
  const long server_cs0 = process_context_switches(server.pid()), workers_cs0 = switches_of_workers();
  const auto server_threads0 = thread_cpu_seconds(server.pid());
  const double self_cpu0 = cpu_seconds();
  Load load = generate_load(client, "run", steps, concurrency, o.count, o.seconds);
  const auto server_threads = thread_cpu_seconds(server.pid());
  const double server_cpu = process_cpu_seconds(server.pid()) - server_cpu0;
  const double workers_cpu = cpu_of_workers() - workers_cpu0;
  const double server_cs = static_cast<double>(process_context_switches(server.pid()) - server_cs0);
  const double workers_cs = static_cast<double>(switches_of_workers() - workers_cs0);
  const double self_cpu = cpu_seconds() - self_cpu0;
  const long server_peak_rss_kb = process_status_kb(server.pid(), "VmHWM");
  const std::string server_allocator = allocator_of(server.pid());
  const double load_after = load_average();
  const double cpu_pressure_after = cpu_pressure();

  int64_t worker_tasks = 0, cache_hits = 0, full_replays = 0;
  bool workers_clean = true;
  for (auto& w : workers) {
    workers_clean = w->stop() && workers_clean;
    const std::string log = w->log();
    worker_tasks += sum_numbers(log, R"(workflow_tasks=(\d+))");
    cache_hits += sum_numbers(log, R"(cache_hits=(\d+))");
    full_replays += sum_numbers(log, R"(full_replays=(\d+))");
  }
  const bool server_clean = server.stop();
  const std::string server_log = server.log();
  const int64_t transactions = find_number(server_log, R"(store: (\d+) transactions)").value_or(0);
  const int64_t commits = find_number(server_log, R"(in (\d+) commits)").value_or(0);
  const int64_t cached_reads = find_number(server_log, R"(store: (\d+) reads from the recent-runs cache)").value_or(0);
  const int64_t database_reads = find_number(server_log, R"(, (\d+) from the database)").value_or(0);
  const DatabaseFigures dbf = inspect_database(db);

  const int64_t workflows = warm.completed + warm.wrong + warm.failed + load.completed + load.wrong + load.failed;
  const bool ok = warm.wrong + warm.failed + load.wrong + load.failed == 0 && load.completed > 0 && server_clean &&
                  workers_clean && dbf.executions == workflows;
  if (!ok) {
    all_ok = false;
    std::cerr << "run " << tag << " FAILED: completed " << warm.completed + load.completed << ", wrong "
              << warm.wrong + load.wrong << ", failed " << warm.failed + load.failed << ", executions in db "
              << dbf.executions << "/" << workflows << ", server exit " << (server_clean ? "clean" : "NOT clean")
              << ", workers exit " << (workers_clean ? "clean" : "NOT clean")
              << "\n  first error: " << (load.first_error.empty() ? warm.first_error : load.first_error)
              << "\n  logs in " << o.workdir << "\n";
  }
  const double wall = load.seconds;
  const auto per_workflow = [&](double x) { return load.completed ? x / static_cast<double>(load.completed) : 0; };
  nlohmann::json metrics = {
      {"workflows", load.completed},
      {"seconds", wall},
      {"workflows_per_s", load.completed / wall},
      {"activities_per_s", static_cast<double>(load.completed * steps) / wall},
      {"latency_p50_ms", percentile(load.latencies_ms, 0.50)},
      {"latency_p99_ms", percentile(load.latencies_ms, 0.99)},
      {"latency_max_ms", load.latencies_ms.empty() ? 0.0 : load.latencies_ms.back()},
      {"server_cpu_s", server_cpu},
      {"server_cpu_cores", server_cpu / wall},
      {"server_cpu_us_per_workflow", per_workflow(server_cpu) * 1e6},
      {"workers_cpu_us_per_workflow", per_workflow(workers_cpu) * 1e6},
      {"loadgen_cpu_us_per_workflow", per_workflow(self_cpu) * 1e6},
      {"server_context_switches_per_workflow", per_workflow(server_cs)},
      {"workers_context_switches_per_workflow", per_workflow(workers_cs)},
      {"server_peak_rss_kb", server_peak_rss_kb},
      {"store_transactions", transactions},
      {"store_commits", commits},
      {"commits_per_workflow", workflows ? static_cast<double>(commits) / static_cast<double>(workflows) : 0},
      {"store_reads_per_workflow",
       workflows ? static_cast<double>(cached_reads + database_reads) / static_cast<double>(workflows) : 0},
      {"store_database_reads_per_workflow",
       workflows ? static_cast<double>(database_reads) / static_cast<double>(workflows) : 0},
      {"transactions_per_commit", commits ? static_cast<double>(transactions) / static_cast<double>(commits) : 0},
      {"events", dbf.events},
      {"db_bytes", dbf.bytes},
      {"bytes_per_event", dbf.events ? static_cast<double>(dbf.bytes) / static_cast<double>(dbf.events) : 0},
      {"worker_workflow_tasks", worker_tasks},
      {"worker_cache_hits", cache_hits},
      {"worker_full_replays", full_replays},
      {"loadavg_before", load_before},
      {"loadavg_after", load_after},
      {"cpu_pressure_some_avg10", cpu_pressure_after},
      // Where the server's CPU went, by thread name: the store's writer and answerer, gRPC's
      // threads (nexting_thread, default-executor), the engine's (reprise).
      {"server_cpu_share_by_thread", cpu_share_by_thread_name(server_threads0, server_threads, server_cpu)},
  };
  nlohmann::json line = provenance();
  if (!o.server_commit.empty()) line["server_commit"] = o.server_commit;
  if (!o.worker_binary.empty()) line["worker_binary"] = o.worker_binary;
  line["bench"] = "e2e";
  line["activities"] = steps;
  line["concurrency"] = concurrency;
  line["workers"] = o.workers;
  line["sync"] = o.sync;
  line["server_allocator"] = server_allocator;
  line["ok"] = ok;
  line["warmup"] = o.warmup;
  line["worker_options"] = {{"workflow_pollers", o.worker_flags.workflow_pollers},
                            {"sticky_workflow_pollers", o.worker_flags.sticky_workflow_pollers},
                            {"activity_pollers", o.worker_flags.activity_pollers},
                            {"max_concurrent_activities", o.worker_flags.max_concurrent_activities},
                            {"blocking_activities", o.worker_flags.blocking_activities}};
  if (!o.label.empty()) line["label"] = o.label;
  line["metrics"] = metrics;
  return line;
}

// --rpc-floor T: the cheapest RPC there is, for scale. T threads call GetSystemInfo (answered
// at once, no store, no engine) on a fresh server for --seconds; reports calls/s and the CPU of
// both ends per call. Every workflow costs at least its RPCs times this. With --rpc-callback the
// client keeps T calls in flight through gRPC's callback API instead (as the worker does).
nlohmann::json run_rpc_floor(const RunOptions& o, int threads, bool callback_api) {
  ChildProcess server({o.reprise_binary, "server", "start-dev", "--db-filename", o.workdir + "/rpc-floor.db", "--port",
                       "0", "--log-level", "info"},
                      o.workdir + "/server-rpc-floor.log");
  const std::string address = "127.0.0.1:" + std::to_string(wait_for_port(server));
  auto stub = temporal::api::workflowservice::v1::WorkflowService::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  std::atomic<int64_t> calls{0}, errors{0};
  auto hammer = [&](std::chrono::steady_clock::time_point until) {
    while (std::chrono::steady_clock::now() < until) {
      grpc::ClientContext ctx;
      temporal::api::workflowservice::v1::GetSystemInfoRequest req;
      temporal::api::workflowservice::v1::GetSystemInfoResponse resp;
      (stub->GetSystemInfo(&ctx, req, &resp).ok() ? calls : errors)++;
    }
  };
  // The same loop through gRPC's callback API: `threads` chains of calls in flight, each call
  // started from the previous one's completion on gRPC's own threads (no thread blocks per call).
  auto hammer_callback = [&](std::chrono::steady_clock::time_point until) {
    struct Chain {
      grpc::ClientContext ctx;
      temporal::api::workflowservice::v1::GetSystemInfoRequest req;
      temporal::api::workflowservice::v1::GetSystemInfoResponse resp;
    };
    std::mutex mu;
    std::condition_variable cv;
    int running = threads;
    std::vector<std::unique_ptr<Chain>> chains(threads);
    std::function<void(int)> issue = [&](int i) {
      chains[i] = std::make_unique<Chain>();
      auto* c = chains[i].get();
      stub->async()->GetSystemInfo(&c->ctx, &c->req, &c->resp, [&, i](grpc::Status s) {
        (s.ok() ? calls : errors)++;
        if (std::chrono::steady_clock::now() < until) return issue(i);
        std::lock_guard lock(mu);
        if (--running == 0) cv.notify_all();
      });
    };
    for (int i = 0; i < threads; ++i) issue(i);
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return running == 0; });
  };
  std::vector<std::thread> warm;
  if (callback_api) {
    hammer_callback(std::chrono::steady_clock::now() + 500ms);
  } else {
    for (int i = 0; i < threads; ++i) warm.emplace_back(hammer, std::chrono::steady_clock::now() + 500ms);
    for (auto& t : warm) t.join();
  }
  calls = 0;
  const double server_cpu0 = process_cpu_seconds(server.pid()), self_cpu0 = cpu_seconds();
  const long server_cs0 = process_context_switches(server.pid());
  const auto start = std::chrono::steady_clock::now();
  const auto until =
      start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> pool;
  if (callback_api) {
    hammer_callback(until);
  } else {
    for (int i = 0; i < threads; ++i) pool.emplace_back(hammer, until);
    for (auto& t : pool) t.join();
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double n = static_cast<double>(std::max<int64_t>(1, calls.load()));
  const double client_cpu = cpu_seconds() - self_cpu0;
  const double server_cpu = process_cpu_seconds(server.pid()) - server_cpu0;
  const double server_cs = static_cast<double>(process_context_switches(server.pid()) - server_cs0);
  nlohmann::json line = provenance();
  if (!o.server_commit.empty()) line["server_commit"] = o.server_commit;
  line["bench"] = "rpc_floor";
  line["threads"] = threads;
  line["api"] = callback_api ? "callback" : "sync";
  line["ok"] = errors == 0 && server.stop();
  line["metrics"] = {{"calls", calls.load()},
                     {"calls_per_s", n / wall},
                     {"client_cpu_us_per_call", client_cpu / n * 1e6},
                     {"server_cpu_us_per_call", server_cpu / n * 1e6},
                     {"server_context_switches_per_call", server_cs / n}};
  return line;
}

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

void print_header() {
  std::printf("%5s %4s %8s %9s %9s %8s %8s %9s %9s %9s %8s %8s %8s %8s %8s %6s %5s\n", "acts", "C", "wf", "wf/s",
              "acts/s", "p50 ms", "p99 ms", "srv cores", "srv us/wf", "wrk us/wf", "srv cs/wf", "wrk cs/wf", "RSS MiB",
              "fsync/wf", "B/event", "load", "psi%");
}

void print_row(const nlohmann::json& line) {
  const auto& m = line["metrics"];
  std::printf("%5d %4d %8ld %9.0f %9.0f %8.2f %8.2f %9.2f %9.0f %9.0f %8.1f %8.1f %8.1f %8.2f %8.0f %6.2f %5.0f%s\n",
              line["activities"].get<int>(), line["concurrency"].get<int>(), m["workflows"].get<long>(),
              m["workflows_per_s"].get<double>(), m["activities_per_s"].get<double>(),
              m["latency_p50_ms"].get<double>(), m["latency_p99_ms"].get<double>(), m["server_cpu_cores"].get<double>(),
              m["server_cpu_us_per_workflow"].get<double>(), m["workers_cpu_us_per_workflow"].get<double>(),
              m["server_context_switches_per_workflow"].get<double>(),
              m["workers_context_switches_per_workflow"].get<double>(), m["server_peak_rss_kb"].get<double>() / 1024,
              m["commits_per_workflow"].get<double>(), m["bytes_per_event"].get<double>(),
              m["loadavg_after"].get<double>(), m["cpu_pressure_some_avg10"].get<double>(),
              line["ok"].get<bool>() ? "" : "  FAILED");
  if (m.contains("server_cpu_share_by_thread")) {
    std::vector<std::pair<double, std::string>> shares;
    for (const auto& [name, share] : m["server_cpu_share_by_thread"].items()) shares.emplace_back(share, name);
    std::sort(shares.rbegin(), shares.rend());
    std::string text;
    for (const auto& [share, name] : shares) {
      if (share < 0.005) continue;
      text += (text.empty() ? "" : ", ") + name + " " + std::to_string(static_cast<int>(share * 100 + 0.5)) + " %";
    }
    std::printf("             server CPU by thread: %s\n", text.c_str());
  }
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"e2e_bench: server + workers + load generator, end to end, with durable commits"};
  std::string role = "driver", address, activities = "1,10", concurrency = "16,64", out;
  RunOptions o;
  o.self_binary = self_executable();
  const std::string own_reprise =
      (fs::path(o.self_binary).parent_path() / ".." / "client" / "reprise").lexically_normal();
  o.reprise_binary = own_reprise;
  o.count = 20000;
  o.seconds = 20;
  o.warmup = -1;
  bool keep = false;
  std::string against, against_commit;
  int pairs = 1;
  int rpc_floor_threads = 0;
  bool rpc_callback = false;
  app.add_flag("--rpc-callback", rpc_callback, "--rpc-floor through gRPC's callback client API");
  app.add_option("--rpc-floor", rpc_floor_threads,
                 "instead of workflows: this many threads calling GetSystemInfo for --seconds (the cost of "
                 "one bare RPC)");
  app.add_option("--role", role, "driver (default) or worker (started by the driver)")
      ->check(CLI::IsMember({"driver", "worker"}));
  app.add_option("--address", address, "worker: the server to poll");
  app.add_option("--activities", activities, "sequential activities per workflow, one run each");
  app.add_option("--concurrency", concurrency, "workflows in flight at once, one run each");
  app.add_option("--workers", o.workers, "worker processes")->capture_default_str();
  app.add_option("--count", o.count, "at most this many measured workflows per run")->capture_default_str();
  app.add_option("--seconds", o.seconds, "at most this long starting measured workflows per run")
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "unmeasured workflows before each run (default: 2 x concurrency)");
  app.add_option("--sync", o.sync, "the server's --sqlite-synchronous")->capture_default_str();
  app.add_option("--reprise", o.reprise_binary, "the reprise binary (server)")->capture_default_str();
  app.add_option("--server-commit", o.server_commit,
                 "the commit the --reprise binary was built from, stamped as server_commit (a binary "
                 "other than this tree's is otherwise stamped \"unknown\")");
  app.add_option("--worker-binary", o.worker_binary,
                 "run each worker as this program with --role worker and its flags (default: this "
                 "e2e_bench); e.g. a script that puts callgrind in front");
  app.add_option("--workflow-pollers", o.worker_flags.workflow_pollers)->capture_default_str();
  app.add_option("--sticky-workflow-pollers", o.worker_flags.sticky_workflow_pollers)->capture_default_str();
  app.add_option("--activity-pollers", o.worker_flags.activity_pollers)->capture_default_str();
  app.add_option("--max-concurrent-activities", o.worker_flags.max_concurrent_activities)->capture_default_str();
  app.add_flag("--blocking-activities", o.worker_flags.blocking_activities,
               "register the activity as ActivityKind::Blocking (run on the worker's activity pool) instead of "
               "NonBlocking");
  app.add_option("--against", against,
                 "A/B: a second server binary (B) run in alternating pairs with --reprise (A): A B, B A, A B, "
                 "...; lines labelled <label>-a / <label>-b, and a summary of the pairs at the end");
  app.add_option("--against-commit", against_commit, "the commit --against was built from (server_commit)");
  app.add_option("--pairs", pairs, "A/B pairs per shape and concurrency (with --against)")->capture_default_str();
  app.add_option("--label", o.label, "a word stamped on the result lines (baseline, ...)");
  app.add_option("--out", out, "append one JSON line per run to this file");
  app.add_flag("--keep", keep, "keep the work folder (databases and logs)");
  CLI11_PARSE(app, argc, argv);
  if (o.server_commit.empty() && fs::path(o.reprise_binary).lexically_normal() != fs::path(own_reprise))
    o.server_commit = "unknown: " + o.reprise_binary;

  if (role == "worker") return run_worker(address, o.worker_flags);

  char dir_template[] = "/tmp/reprise-e2e-XXXXXX";
  if (!mkdtemp(dir_template)) {
    std::perror("mkdtemp");
    return 2;
  }
  o.workdir = dir_template;
  bool all_ok = true;
  if (rpc_floor_threads > 0) {
    auto line = run_rpc_floor(o, rpc_floor_threads, rpc_callback);
    const auto& m = line["metrics"];
    std::printf(
        "bare RPC (GetSystemInfo), %d client %s: %.0f calls/s, client %.1f us/call, server %.1f us/call, "
        "server %.2f context switches/call\n",
        rpc_floor_threads, rpc_callback ? "callback chains" : "threads", m["calls_per_s"].get<double>(),
        m["client_cpu_us_per_call"].get<double>(), m["server_cpu_us_per_call"].get<double>(),
        m["server_context_switches_per_call"].get<double>());
    if (!out.empty()) std::ofstream(out, std::ios::app) << line.dump() << "\n";
    fs::remove_all(o.workdir);
    return line["ok"].get<bool>() ? 0 : 1;
  }
  // One run of one server binary; nullopt if it could not be made.
  auto run_and_record = [&](RunOptions run, int steps, int c) -> std::optional<nlohmann::json> {
    if (run.warmup < 0) run.warmup = 2 * c;
    nlohmann::json line;
    try {
      line = run_one(run, steps, c, all_ok);
    } catch (const std::exception& e) {
      std::cerr << "run " << steps << "x" << c << " failed: " << e.what() << "\n";
      all_ok = false;
      return std::nullopt;
    }
    print_row(line);
    if (!out.empty()) std::ofstream(out, std::ios::app) << line.dump() << "\n";
    return line;
  };
  print_header();
  for (int steps : parse_list(activities))
    for (int c : parse_list(concurrency)) {
      if (against.empty()) {
        run_and_record(o, steps, c);
        continue;
      }
      // A/B: the machine's speed drifts by 15-20 % within minutes, so two servers are compared
      // only within a pair run back to back, each pair in the other order than the one before.
      RunOptions a = o, b = o;
      const std::string label = o.label.empty() ? "ab" : o.label;
      a.label = label + "-a";
      b.label = label + "-b";
      b.reprise_binary = against;
      b.server_commit = against_commit.empty() ? "unknown: " + against : against_commit;
      std::vector<double> throughput_ratios, cpu_ratios;
      for (int i = 0; i < pairs; ++i) {
        std::optional<nlohmann::json> ra, rb;
        if (i % 2 == 0) {
          ra = run_and_record(a, steps, c);
          rb = run_and_record(b, steps, c);
        } else {
          rb = run_and_record(b, steps, c);
          ra = run_and_record(a, steps, c);
        }
        if (!ra || !rb) continue;
        const auto& ma = (*ra)["metrics"];
        const auto& mb = (*rb)["metrics"];
        throughput_ratios.push_back(mb["workflows_per_s"].get<double>() / ma["workflows_per_s"].get<double>());
        cpu_ratios.push_back(mb["server_cpu_us_per_workflow"].get<double>() /
                             ma["server_cpu_us_per_workflow"].get<double>());
      }
      if (throughput_ratios.empty()) continue;
      const auto better =
          std::count_if(throughput_ratios.begin(), throughput_ratios.end(), [](double r) { return r > 1.02; });
      const auto worse =
          std::count_if(throughput_ratios.begin(), throughput_ratios.end(), [](double r) { return r < 0.98; });
      std::sort(throughput_ratios.begin(), throughput_ratios.end());
      std::sort(cpu_ratios.begin(), cpu_ratios.end());
      std::printf(
          "A/B %dx%d over %zu pairs, B against A: wf/s x%.3f (median; B better by over 2 %% in %ld, worse in %ld), "
          "server CPU per workflow x%.3f (median)\n",
          steps, c, throughput_ratios.size(), percentile(throughput_ratios, 0.5), static_cast<long>(better),
          static_cast<long>(worse), percentile(cpu_ratios, 0.5));
    }
  if (all_ok && !keep)
    fs::remove_all(o.workdir);
  else
    std::cerr << "work folder kept: " << o.workdir << "\n";
  return all_ok ? 0 : 1;
}
