// The `reprise workflow ...` verbs, run as a real process against an in-process server: what they
// print on stdout, what they say on stderr, and their exit codes (0 ok, 1 failed, 2 usage).
// Code: client/reprise_main.cpp, client/history_format.cpp.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>

#include "history/history_json.h"
#include "test_server.h"

using namespace reprise::testing;

namespace {
struct Run {
  int exit_code;
  std::string out;
  std::string err;
};

// Runs `reprise ARGS --address ADDRESS`, stdout and stderr captured apart.
Run cli_at(const std::string& address, const std::string& args) {
  static int n = 0;
  std::string err_file = std::filesystem::temp_directory_path() /
                         ("reprise-cli-err-" + std::to_string(getpid()) + "-" + std::to_string(n++));
  std::string cmd = std::string(REPRISE_BINARY) + " " + args + " --address " + address + " 2>" + err_file;
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t got;
  while ((got = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), got);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream e(err_file);
  std::stringstream ss;
  ss << e.rdbuf();
  r.err = ss.str();
  std::filesystem::remove(err_file);
  return r;
}
Run cli(TestServer& s, const std::string& args) { return cli_at(s.server->address(), args); }
bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("workflow start prints the ids and a second start of a running id fails with exit code 1", "[cli]") {
  TestServer s;
  auto r = cli(s, "workflow start --type greet --task-queue hello --workflow-id cli-1 --input '\"Ada\"'");
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "WorkflowId  cli-1"));
  auto again = cli(s, "workflow start --type greet --task-queue hello --workflow-id cli-1");
  CHECK(again.exit_code == 1);
  CHECK(again.out.empty());
  CHECK(contains(again.err, "already running"));

  auto json = cli(s, "workflow start --type greet --task-queue hello --workflow-id cli-2 --output json");
  CHECK(json.exit_code == 0);
  CHECK(nlohmann::json::parse(json.out)["workflowId"] == "cli-2");
}

TEST_CASE("bad input JSON is a usage error with exit code 2 and nothing on stdout", "[cli]") {
  TestServer s;
  auto r = cli(s, "workflow start --type greet --task-queue hello --input Ada");
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(contains(r.err, "not valid JSON"));
  auto missing = cli(s, "workflow start --task-queue hello");
  CHECK(missing.exit_code == 2);
  CHECK(missing.out.empty());
  auto bad_signal = cli(s, "workflow signal --workflow-id any --name poke --input '{oops'");
  CHECK(bad_signal.exit_code == 2);
  CHECK(bad_signal.out.empty());
  CHECK(contains(bad_signal.err, "not valid JSON"));
}

TEST_CASE("an unknown workflow id fails with exit code 1 and a message saying what to try", "[cli]") {
  TestServer s;
  for (const char* verb : {"describe", "show", "result", "terminate", "cancel"}) {
    auto r = cli(s, std::string("workflow ") + verb + " --workflow-id nope");
    INFO(verb);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(contains(r.err, "not found"));
    CHECK(contains(r.err, "reprise workflow list"));  // what to try
  }
}

TEST_CASE("when no server is running the CLI says so and exits 1", "[cli]") {
  for (const char* args : {"workflow list", "workflow describe --workflow-id any"}) {
    auto r = cli_at("127.0.0.1:1", args);
    INFO(args);
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());  // nothing a script could take for a result
    CHECK(contains(r.err, "not reachable"));
  }
}

TEST_CASE("execute waits for the result, and show, describe, list, signal, terminate and cancel work", "[cli]") {
  TestServer s;
  auto execute = std::async(std::launch::async, [&] {
    return cli(s, "workflow execute --type greet --task-queue hello --workflow-id cli-x --input '\"Ada\"'");
  });
  RawWorker w(s, "hello");
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {start_timer("1", std::chrono::seconds(5))}).ok());

  // While it waits in its timer: signal, describe, list.
  auto sig = cli(s, "workflow signal --workflow-id cli-x --name poke --input '{\"n\":1}'");
  CHECK(sig.exit_code == 0);
  auto d = cli(s, "workflow describe --workflow-id cli-x");
  CHECK(d.exit_code == 0);
  CHECK(contains(d.out, "Status          Running"));
  auto l = cli(s, "workflow list --query \"WorkflowType = 'greet'\"");
  CHECK(contains(l.out, "cli-x"));

  wt = w.next_workflow_task();  // the signal woke it
  REQUIRE(w.complete_workflow_task(wt.task_token(), {cancel_timer("1"), complete_workflow("\"Hello, Ada\"")}).ok());
  auto done = execute.get();
  CHECK(done.exit_code == 0);
  CHECK(contains(done.out, "Result: \"Hello, Ada\""));

  auto table = cli(s, "workflow show --workflow-id cli-x");
  CHECK(contains(table.out, "WorkflowExecutionSignaled"));
  CHECK(contains(table.out, "* TimerStarted"));
  auto json = cli(s, "workflow show --workflow-id cli-x --output json");
  auto history = reprise::history::history_from_json(json.out);  // what `temporal workflow show -o json` prints
  CHECK(history.events(history.events_size() - 1).event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  auto result = cli(s, "workflow result --workflow-id cli-x");
  CHECK(result.out == "\"Hello, Ada\"\n");

  REQUIRE(cli(s, "workflow start --type greet --task-queue hello --workflow-id cli-y").exit_code == 0);
  auto cancel = cli(s, "workflow cancel --workflow-id cli-y --reason done");
  CHECK(cancel.exit_code == 0);
  CHECK(contains(cli(s, "workflow show --workflow-id cli-y").out, "WorkflowExecutionCancelRequested"));
  auto term = cli(s, "workflow terminate --workflow-id cli-y --reason bye");
  CHECK(term.exit_code == 0);
  auto after = cli(s, "workflow result --workflow-id cli-y");
  CHECK(after.exit_code == 1);
  CHECK(contains(after.err, "terminated"));
}

TEST_CASE("workflow show --file prints a history exported as JSON, without asking the server", "[cli]") {
  TestServer s;
  const std::string file = std::string(REPRISE_SOURCE_DIR) + "/tests/history/json_retry_on_error.canonical.json";
  auto table = cli(s, "workflow show --file " + file);
  REQUIRE(table.exit_code == 0);
  CHECK(contains(table.out, "ActivityTaskFailed"));
  CHECK(contains(table.out, "WorkflowExecutionFailed"));
  // Read back as JSON it is the same history.
  auto json = cli(s, "workflow show --output json --file " + file);
  REQUIRE(json.exit_code == 0);
  CHECK(reprise::history::history_from_json(json.out).events_size() == 11);

  CHECK(cli(s, "workflow show").exit_code == 2);                                 // neither
  CHECK(cli(s, "workflow show --workflow-id x --file " + file).exit_code == 2);  // both
  auto not_history = cli(s, "workflow show --file " + std::string(REPRISE_SOURCE_DIR) + "/CMakeLists.txt");
  CHECK(not_history.exit_code == 1);
  CHECK(contains(not_history.err, "history JSON"));
}
