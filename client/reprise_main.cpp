// The `reprise` command line. Its verbs follow Temporal's `temporal` CLI so that what learners type
// here also works there:
//   reprise server start-dev [--db-filename F] [--ip A] [--port P] [--log-level L] [--long-poll-timeout S]
//   reprise workflow start|execute --type T --task-queue Q [--workflow-id ID] [--input JSON]...
//   reprise workflow result|describe|show|terminate|cancel|signal --workflow-id ID [--run-id R]
//   reprise workflow show --file HISTORY.json   (a history exported by temporal, the UI or an SDK)
//   reprise workflow list [--query Q]
// Global flags: --address (127.0.0.1:7233), --namespace (default), --output text|json.
// Exit codes: 0 success, 1 the workflow or the request failed, 2 usage error. Errors go to stderr
// with what went wrong and what to try; stdout carries only results.
// Exercised by tests/client/cli_test.cpp and tests/crash/crash_test.cpp (start-dev).
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "engine/server.h"
#include "engine/time_util.h"
#include "history/history_json.h"
#include "history/sqlite_history_store.h"
#include "history_format.h"
#include "reprise/client.h"

namespace {

namespace enums = temporal::api::enums::v1;

// A usage error found after parsing (bad JSON input, ...): exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::atomic<bool> stop_requested{false};

int run_start_dev(const std::string& db_file, const std::string& ip, int port, const std::string& log_level,
                  const std::string& synchronous, const std::vector<std::string>& namespaces, int long_poll_seconds) {
  spdlog::set_level(spdlog::level::from_str(log_level));
  reprise::history::SqliteStoreOptions store_options;
  store_options.path = db_file;
  if (synchronous == "off")
    store_options.synchronous = reprise::history::SqliteStoreOptions::Synchronous::Off;
  else if (synchronous == "normal")
    store_options.synchronous = reprise::history::SqliteStoreOptions::Synchronous::Normal;
  reprise::history::SqliteHistoryStore store(store_options);
  if (store.commit_threads_nice() == store_options.commit_threads_nice)
    spdlog::debug("store: writer and answerer threads at nice {}", store.commit_threads_nice());
  else
    spdlog::info(
        "store: writer and answerer threads at nice {}, not {} (a higher priority needs CAP_SYS_NICE or "
        "an RLIMIT_NICE that allows it)",
        store.commit_threads_nice(), store_options.commit_threads_nice);
  reprise::engine::SystemClock clock;
  reprise::engine::ServerOptions options;
  options.ip = ip;
  options.port = port;
  options.engine.namespaces = {"default"};
  options.engine.long_poll_timeout = std::chrono::seconds(long_poll_seconds);
  for (const auto& ns : namespaces)
    if (ns != "default") options.engine.namespaces.push_back(ns);
  reprise::engine::Server server(store, clock, options);
  server.start();
  spdlog::info("Reprise dev server on {} with history in {} (namespace default)", server.address(), db_file);

  // Stop on SIGINT/SIGTERM: a watcher thread polls the flag the signal handler sets.
  std::signal(SIGINT, [](int) { stop_requested = true; });
  std::signal(SIGTERM, [](int) { stop_requested = true; });
  std::thread watcher([&] {
    while (!stop_requested) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    spdlog::info("shutting down");
    server.shutdown();
  });
  server.wait();
  stop_requested = true;
  watcher.join();
  // Group commit at a glance; bench/e2e_bench reads this line for its fsyncs per workflow.
  const auto stats = store.stats();
  spdlog::info("store: {} transactions in {} commits ({:.2f} transactions per fsync)", stats.transactions,
               stats.commits,
               stats.commits ? static_cast<double>(stats.transactions) / static_cast<double>(stats.commits) : 0.0);
  spdlog::info("store: {} reads from the recent-runs cache, {} from the database", stats.cached_reads,
               stats.database_reads);
  return 0;
}

std::string proto_json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

// A history exported as JSON, in either dialect (history/history_json.h).
temporal::api::history::v1::History read_history_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return reprise::history::history_from_json(text.str());
}

std::string status_name(enums::WorkflowExecutionStatus s) {
  return reprise::short_enum_name(enums::WorkflowExecutionStatus_Name(s), "WORKFLOW_EXECUTION_STATUS_");
}

reprise::Payloads parse_inputs(const std::vector<std::string>& inputs) {
  reprise::Payloads out;
  for (const auto& text : inputs) {
    try {
      *out.add_payloads() = reprise::json_payload(nlohmann::json::parse(text));
    } catch (const nlohmann::json::parse_error&) {
      throw UsageError("--input '" + text + "' is not valid JSON (strings need quotes: --input '\"Ada\"')");
    }
  }
  return out;
}

std::string result_text(const reprise::Payloads& result) {
  if (result.payloads_size() == 0) return "null";
  std::string out;
  for (int i = 0; i < result.payloads_size(); ++i) {
    if (i) out += "\n";
    out += reprise::payload_json(result.payloads(i)).dump();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reprise: a small durable-execution engine that speaks Temporal's protocol"};
  app.require_subcommand(1);
  std::string address = "127.0.0.1:7233", ns = "default", output = "text";

  // --- server ---
  auto* server = app.add_subcommand("server", "Run a Reprise server");
  server->require_subcommand(1);
  auto* start_dev = server->add_subcommand("start-dev", "Start a development server on an embedded SQLite file");
  std::string db_file = "reprise-dev.db", ip = "127.0.0.1", log_level = "info", synchronous = "full";
  int port = 7233, long_poll_seconds = 60;
  std::vector<std::string> namespaces;
  start_dev->add_option("-f,--db-filename", db_file, "SQLite file holding every history (created if missing)")
      ->capture_default_str();
  start_dev->add_option("--ip", ip, "Address to listen on")->capture_default_str();
  start_dev->add_option("-p,--port", port, "Port to listen on")->capture_default_str()->check(CLI::Range(0, 65535));
  start_dev->add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  start_dev
      ->add_option("--sqlite-synchronous", synchronous,
                   "full: every commit is on disk before it is acknowledged; normal; off")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal", "off"}));
  start_dev->add_option("-n,--namespace", namespaces, "Extra namespaces to create besides default");
  start_dev
      ->add_option("--long-poll-timeout", long_poll_seconds,
                   "Seconds a poll for a task or a new history event waits before answering empty")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));

  // --- workflow ---
  auto* workflow = app.add_subcommand("workflow", "Start, inspect and control workflows");
  workflow->require_subcommand(1);
  workflow->add_option("--address", address, "Server address")->capture_default_str();
  workflow->add_option("-n,--namespace", ns, "Namespace")->capture_default_str();
  workflow->add_option("-o,--output", output, "text or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  workflow->fallthrough();  // the verbs below inherit it: global flags may come after the verb
  std::string type, task_queue, workflow_id, run_id, query, reason, signal_name;
  std::vector<std::string> inputs;
  int execution_timeout = 0, run_timeout = 0, task_timeout = 0;
  auto add_start_flags = [&](CLI::App* c) {
    c->add_option("--type", type, "Workflow type")->required();
    c->add_option("-t,--task-queue", task_queue, "Task queue")->required();
    c->add_option("-w,--workflow-id", workflow_id, "Workflow id (default: a new UUID)");
    c->add_option("-i,--input", inputs, "Input argument as JSON; repeat for several");
    c->add_option("--execution-timeout", execution_timeout, "Seconds; 0 = unlimited");
    c->add_option("--run-timeout", run_timeout, "Seconds; 0 = unlimited");
    c->add_option("--task-timeout", task_timeout, "Workflow task timeout in seconds; 0 = 10");
  };
  auto add_id_flags = [&](CLI::App* c) {
    c->add_option("-w,--workflow-id", workflow_id, "Workflow id")->required();
    c->add_option("-r,--run-id", run_id, "Run id (default: the current run)");
  };
  auto* wf_start = workflow->add_subcommand("start", "Start a workflow and print its ids");
  add_start_flags(wf_start);
  auto* wf_execute = workflow->add_subcommand("execute", "Start a workflow, wait and print its result");
  add_start_flags(wf_execute);
  auto* wf_result = workflow->add_subcommand("result", "Wait for a workflow's result and print it");
  add_id_flags(wf_result);
  auto* wf_describe = workflow->add_subcommand("describe", "Show a workflow's status and pending work");
  add_id_flags(wf_describe);
  auto* wf_show = workflow->add_subcommand("show", "Print a workflow's history");
  std::string history_file;
  // Either a run on the server or an exported history JSON file (temporal workflow show -o json,
  // the Web UI's download, an SDK's historyToJSON): exactly one of the two.
  auto* show_id = wf_show->add_option("-w,--workflow-id", workflow_id, "Workflow id");
  wf_show->add_option("-r,--run-id", run_id, "Run id (default: the current run)")->needs(show_id);
  wf_show->add_option("-f,--file", history_file, "Read the history from this JSON file instead")
      ->check(CLI::ExistingFile)
      ->excludes(show_id);
  wf_show->require_option(1, 0);
  auto* wf_list = workflow->add_subcommand("list", "List workflows");
  wf_list->add_option("-q,--query", query, "e.g. \"WorkflowType = 'greet' AND ExecutionStatus = 'Running'\"");
  auto* wf_terminate = workflow->add_subcommand("terminate", "Terminate a running workflow");
  add_id_flags(wf_terminate);
  wf_terminate->add_option("--reason", reason, "Why");
  auto* wf_cancel = workflow->add_subcommand("cancel", "Ask a running workflow to cancel");
  add_id_flags(wf_cancel);
  wf_cancel->add_option("--reason", reason, "Why");
  auto* wf_signal = workflow->add_subcommand("signal", "Send a signal to a running workflow");
  add_id_flags(wf_signal);
  wf_signal->add_option("--name", signal_name, "Signal name")->required();
  wf_signal->add_option("-i,--input", inputs, "Signal argument as JSON; repeat for several");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  const bool json = output == "json";
  try {
    if (start_dev->parsed())
      return run_start_dev(db_file, ip, port, log_level, synchronous, namespaces, long_poll_seconds);

    reprise::ClientOptions co;
    co.address = address;
    co.namespace_ = ns;
    reprise::Client client(co);

    if (wf_start->parsed() || wf_execute->parsed()) {
      reprise::StartWorkflowOptions so;
      so.id = workflow_id.empty() ? "" : workflow_id;
      if (so.id.empty()) so.id = reprise::engine::new_uuid();
      so.task_queue = task_queue;
      so.execution_timeout = std::chrono::seconds(execution_timeout);
      so.run_timeout = std::chrono::seconds(run_timeout);
      so.task_timeout = std::chrono::seconds(task_timeout);
      auto handle = client.start_workflow(type, so, parse_inputs(inputs));
      if (wf_start->parsed()) {
        if (json)
          std::cout << nlohmann::json{{"workflowId", handle.workflow_id}, {"runId", handle.run_id}}.dump(2) << "\n";
        else
          std::cout << "Running execution:\n  WorkflowId  " << handle.workflow_id << "\n  RunId       " << handle.run_id
                    << "\n  Type        " << type << "\n  TaskQueue   " << task_queue << "\n";
        return 0;
      }
      auto result = handle.result();
      if (json)
        std::cout << nlohmann::json{{"workflowId", handle.workflow_id},
                                    {"runId", handle.run_id},
                                    {"status", "Completed"},
                                    {"result", nlohmann::json::parse(result_text(result))}}
                         .dump(2)
                  << "\n";
      else
        std::cout << "Result: " << result_text(result) << "\n";
      return 0;
    }
    if (wf_result->parsed()) {
      std::cout << result_text(client.result(workflow_id, run_id)) << "\n";
      return 0;
    }
    if (wf_describe->parsed()) {
      auto d = client.describe(workflow_id, run_id);
      if (json) {
        std::cout << proto_json(d) << "\n";
        return 0;
      }
      const auto& i = d.workflow_execution_info();
      std::cout << "WorkflowId      " << i.execution().workflow_id() << "\nRunId           " << i.execution().run_id()
                << "\nType            " << i.type().name() << "\nTaskQueue       " << i.task_queue()
                << "\nStatus          " << status_name(i.status()) << "\nStartTime       "
                << google::protobuf::util::TimeUtil::ToString(i.start_time()) << "\nHistoryLength   "
                << i.history_length() << "\n";
      if (i.has_close_time())
        std::cout << "CloseTime       " << google::protobuf::util::TimeUtil::ToString(i.close_time()) << "\n";
      if (d.has_pending_workflow_task())
        std::cout << "PendingWorkflowTask  attempt " << d.pending_workflow_task().attempt() << ", "
                  << enums::PendingWorkflowTaskState_Name(d.pending_workflow_task().state()) << "\n";
      for (const auto& a : d.pending_activities()) {
        std::cout << "PendingActivity  " << a.activity_id() << " " << a.activity_type().name() << ", attempt "
                  << a.attempt() << ", " << enums::PendingActivityState_Name(a.state());
        if (a.has_last_failure()) std::cout << ", last failure: " << a.last_failure().message();
        std::cout << "\n";
      }
      return 0;
    }
    if (wf_show->parsed()) {
      auto history = history_file.empty() ? client.fetch_history(workflow_id, run_id) : read_history_file(history_file);
      if (json)
        std::cout << reprise::history::history_to_json(history) << "\n";
      else
        std::cout << reprise::format_history_table(history);
      return 0;
    }
    if (wf_list->parsed()) {
      auto runs = client.list(query);
      if (json) {
        auto arr = nlohmann::json::array();
        for (const auto& r : runs) arr.push_back(nlohmann::json::parse(proto_json(r)));
        std::cout << arr.dump(2) << "\n";
        return 0;
      }
      std::printf("%-12s %-36s %-36s %-20s %s\n", "Status", "WorkflowId", "RunId", "Type", "StartTime");
      for (const auto& r : runs)
        std::printf("%-12s %-36s %-36s %-20s %s\n", status_name(r.status()).c_str(),
                    r.execution().workflow_id().c_str(), r.execution().run_id().c_str(), r.type().name().c_str(),
                    google::protobuf::util::TimeUtil::ToString(r.start_time()).c_str());
      return 0;
    }
    if (wf_terminate->parsed()) {
      client.terminate(workflow_id, run_id, reason);
      std::cout << "Terminated " << workflow_id << "\n";
      return 0;
    }
    if (wf_cancel->parsed()) {
      client.cancel(workflow_id, run_id, reason);
      std::cout << "Cancellation requested for " << workflow_id << "\n";
      return 0;
    }
    if (wf_signal->parsed()) {
      client.signal(workflow_id, run_id, signal_name, parse_inputs(inputs));
      std::cout << "Signaled " << workflow_id << "\n";
      return 0;
    }
  } catch (const UsageError& e) {
    std::cerr << "reprise: " << e.what() << "\n";
    return 2;
  } catch (const reprise::WorkflowFailedError& e) {
    std::cerr << "reprise: " << e.what() << "\n";
    return 1;
  } catch (const reprise::WorkflowNotFoundError& e) {
    std::cerr << "reprise: " << e.what() << "\n  (check the workflow id with `reprise workflow list`)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "reprise: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
