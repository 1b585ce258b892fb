// The labs in examples/, run exactly as a learner runs them (their run.sh), each against its own
// server on a free loopback port. Each test asserts what the lab's README promises.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "../support/net.h"
#include "history/history_json.h"

namespace enums = temporal::api::enums::v1;
using temporal::api::history::v1::History;

namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct LabRun {
  int exit_code;
  std::string output;
  std::filesystem::path dir;
  History history;
};

LabRun run_lab(const std::string& script, const std::string& args = {}) {
  LabRun r;
  r.dir = std::filesystem::temp_directory_path() /
          ("reprise-lab-" + std::to_string(getpid()) + "-" + std::to_string(reprise::testing::free_loopback_port()));
  std::filesystem::create_directories(r.dir);
  std::string cmd = "REPRISE_BUILD=" + std::string(REPRISE_BUILD_DIR) +
                    " REPRISE_PORT=" + std::to_string(reprise::testing::free_loopback_port()) +
                    " REPRISE_LAB_DIR=" + r.dir.string() + " bash " + REPRISE_SOURCE_DIR + "/examples/" + script + " " +
                    args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t got;
  while ((got = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), got);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (std::filesystem::exists(r.dir / "history.json"))
    r.history = reprise::history::history_from_json(read_file(r.dir / "history.json"));
  return r;
}

std::vector<enums::EventType> types(const History& h) {
  std::vector<enums::EventType> out;
  for (const auto& e : h.events()) out.push_back(e.event_type());
  return out;
}

int count(const History& h, enums::EventType type) {
  int n = 0;
  for (const auto& e : h.events()) n += e.event_type() == type;
  return n;
}

}  // namespace

TEST_CASE("lab 1: the hello workflow completes, its flaky activity succeeding on attempt 3", "[lab]") {
  auto r = run_lab("hello/run.sh");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("Result: \"Hello, Reprise! Good things come to those who replay, Reprise.\"") !=
        std::string::npos);
  // Activity, durable sleep, flaky activity, complete: the command events in order.
  std::vector<enums::EventType> commands;
  for (auto t : types(r.history))
    if (t == enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED || t == enums::EVENT_TYPE_TIMER_STARTED ||
        t == enums::EVENT_TYPE_TIMER_FIRED || t == enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED)
      commands.push_back(t);
  CHECK(commands == std::vector<enums::EventType>{enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                                                  enums::EVENT_TYPE_TIMER_STARTED, enums::EVENT_TYPE_TIMER_FIRED,
                                                  enums::EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
                                                  enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED});
  // The flaky activity's Started event says attempt 3; its two failures left no events.
  std::vector<int> attempts;
  for (const auto& e : r.history.events())
    if (e.event_type() == enums::EVENT_TYPE_ACTIVITY_TASK_STARTED)
      attempts.push_back(e.activity_task_started_event_attributes().attempt());
  CHECK(attempts == std::vector<int>{1, 3});
  CHECK(count(r.history, enums::EVENT_TYPE_ACTIVITY_TASK_FAILED) == 0);
  std::filesystem::remove_all(r.dir);
}

TEST_CASE("lab 2: after killing the worker and the server every step ran exactly once", "[lab]") {
  auto r = run_lab("kill_worker/run.sh");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.output.find("\"step 1 done; step 2 done; step 3 done; step 4 done; \"") != std::string::npos);
  // The side-effect file: one line per real activity execution.
  std::map<std::string, int> runs;
  std::istringstream effects(read_file(r.dir / "side-effects.txt"));
  for (std::string line; std::getline(effects, line);) runs[line.substr(0, line.find(" ran"))]++;
  CHECK(runs == std::map<std::string, int>{{"step 1", 1}, {"step 2", 1}, {"step 3", 1}, {"step 4", 1}});
  // Worker 2 rebuilt the workflow by replaying history, then ran only steps 3 and 4.
  CHECK(r.output.find("1 full replays") != std::string::npos);
  CHECK(r.output.find("2 activities run") != std::string::npos);
  CHECK(r.history.events(r.history.events_size() - 1).event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  std::filesystem::remove_all(r.dir);
}

namespace {
void check_break_determinism(const std::string& variant, const std::string& activity_in_error) {
  auto r = run_lab("break_determinism/run.sh", variant);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // The v2 worker's replay failed the workflow task with a nondeterminism error naming the event,
  // the command and the line of workflow code.
  const temporal::api::history::v1::HistoryEvent* failed = nullptr;
  for (const auto& e : r.history.events())
    if (e.event_type() == enums::EVENT_TYPE_WORKFLOW_TASK_FAILED) failed = &e;
  REQUIRE(failed != nullptr);
  const auto& attrs = failed->workflow_task_failed_event_attributes();
  CHECK(attrs.cause() == enums::WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR);
  const std::string& message = attrs.failure().message();
  CHECK(message.find("[TMPRL1100]") != std::string::npos);
  CHECK(message.find("ActivityTaskScheduled") != std::string::npos);
  CHECK(message.find("reserve_stock") != std::string::npos);
  CHECK(message.find(activity_in_error) != std::string::npos);
  CHECK(message.find("examples/break_determinism/orders.cpp:") != std::string::npos);
  // Meanwhile the workflow was running, not failed; after the rollback it completed.
  CHECK(r.output.find("Status          Running") != std::string::npos);
  CHECK(r.history.events(r.history.events_size() - 1).event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  std::filesystem::remove_all(r.dir);
}
}  // namespace

TEST_CASE("lab 3: a worker whose code calls std::rand() is caught by the nondeterminism check", "[lab]") {
  check_break_determinism("v2-rand", "check_fraud");
}

TEST_CASE("lab 3: a worker whose code reorders two steps is caught by the nondeterminism check", "[lab]") {
  check_break_determinism("v2-reorder", "StartTimer");
}
