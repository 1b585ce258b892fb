// Reading a history with GetWorkflowExecutionHistory (temporal-semantics.md 4.4, 7.9): paging with
// maximum_page_size, and the CLOSE_EVENT long poll a client uses to wait for a result, which
// answers with the close event once the run closes, or with an empty page plus a token to ask again
// when its deadline comes first; and many readers at once while commits land. Engine code:
// engine/history_reads.cpp.
#include <atomic>
#include <barrier>
#include <future>

#include "test_server.h"

using namespace reprise::testing;
using Lines = std::vector<std::string>;

namespace {

ws::GetWorkflowExecutionHistoryRequest history_request(const std::string& workflow_id) {
  ws::GetWorkflowExecutionHistoryRequest req;
  req.set_namespace_("default");
  req.mutable_execution()->set_workflow_id(workflow_id);
  return req;
}

ws::GetWorkflowExecutionHistoryRequest wait_for_close_request(const std::string& workflow_id,
                                                              const std::string& token = {}) {
  auto req = history_request(workflow_id);
  req.set_wait_new_event(true);
  req.set_history_event_filter_type(enums::HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT);
  req.set_skip_archival(true);
  req.set_next_page_token(token);
  return req;
}

// A workflow with an 11-event history: one activity, then complete.
void run_one_activity_workflow(RawWorker& w, const std::string& workflow_id) {
  w.start_and_complete_first_task(workflow_id, {schedule_activity("1", "work")});
  auto at = w.next_activity_task();
  REQUIRE(w.complete_activity(at.task_token(), "\"r\"").ok());
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}).ok());
}

// For the tests with many readers at once: memory or SQLite, and a long poll that never answers
// empty on time within the test (three minutes), so an empty answer means a reader was not woken.
TestServerOptions many_readers_options(bool sqlite) {
  TestServerOptions options;
  options.sqlite = sqlite;
  options.engine.long_poll_timeout = 3min;
  return options;
}

}  // namespace

TEST_CASE("a history read in pages of maximum_page_size chains its tokens to the full history", "[server][history]") {
  TestServer s;
  RawWorker w(s, "history");
  run_one_activity_workflow(w, "wf-pages");
  const auto full = history_lines(s, "wf-pages");
  REQUIRE(full.size() == 11);

  std::vector<HistoryEvent> paged;
  std::vector<int> page_sizes;
  auto req = history_request("wf-pages");
  req.set_maximum_page_size(3);
  do {
    ws::GetWorkflowExecutionHistoryResponse resp;
    REQUIRE(call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, req, resp).ok());
    page_sizes.push_back(resp.history().events_size());
    for (const auto& e : resp.history().events()) paged.push_back(e);
    req.set_next_page_token(resp.next_page_token());
  } while (!req.next_page_token().empty());
  CHECK(page_sizes == std::vector<int>{3, 3, 3, 2});
  CHECK(event_lines(paged) == full);
}

TEST_CASE("a CLOSE_EVENT long poll answers with the close event when the workflow completes", "[server][history]") {
  TestServer s;
  RawWorker w(s, "history");
  w.start("wf-wait-close");
  auto wt = w.next_workflow_task();

  auto waiting = std::async(std::launch::async, [&] {
    ws::GetWorkflowExecutionHistoryResponse resp;
    auto st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, wait_for_close_request("wf-wait-close"),
                   resp, 30s);
    return std::make_pair(st, resp);
  });
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"the answer\"")}).ok());

  auto [st, resp] = waiting.get();
  REQUIRE(st.error_message() == "");
  REQUIRE(resp.history().events_size() == 1);
  const auto& close = resp.history().events(0);
  CHECK(close.event_id() == 5);
  CHECK(close.event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
  CHECK(close.workflow_execution_completed_event_attributes().result().payloads(0).data() == "\"the answer\"");
  CHECK(resp.next_page_token().empty());
}

TEST_CASE("a CLOSE_EVENT long poll that reaches its deadline answers an empty page and a token to continue",
          "[server][history]") {
  TestServer s;
  RawWorker w(s, "history");
  w.start("wf-wait-timeout");

  // The server answers about a second before the client's deadline, so the call itself succeeds.
  ws::GetWorkflowExecutionHistoryResponse resp;
  auto st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, wait_for_close_request("wf-wait-timeout"),
                 resp, 2s);
  REQUIRE(st.error_message() == "");
  CHECK(resp.history().events_size() == 0);
  REQUIRE_FALSE(resp.next_page_token().empty());

  // The token continues the wait; once the run has closed it answers with the close event.
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"late\"")}).ok());
  ws::GetWorkflowExecutionHistoryResponse again;
  st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory,
            wait_for_close_request("wf-wait-timeout", resp.next_page_token()), again, 10s);
  REQUIRE(st.error_message() == "");
  REQUIRE(again.history().events_size() == 1);
  CHECK(again.history().events(0).event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
}

TEST_CASE("CLOSE_EVENT long polls parked in either order each answer by their own deadline", "[server][history]") {
  TestServer s;
  RawWorker w(s, "history");
  w.start("wf-two-waits");
  auto wait = [&](std::chrono::seconds client_deadline) {
    return std::async(std::launch::async, [&s, client_deadline] {
      ws::GetWorkflowExecutionHistoryResponse resp;
      auto st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, wait_for_close_request("wf-two-waits"),
                     resp, client_deadline);
      return std::make_pair(st, resp);
    });
  };
  // The later deadline parks first; the earlier one, parked after it, must not wait for it.
  auto patient = wait(20s);
  std::this_thread::sleep_for(200ms);
  auto hasty = wait(2s);
  auto [hasty_status, hasty_resp] = hasty.get();
  REQUIRE(hasty_status.error_message() == "");  // answered before its client gave up
  CHECK(hasty_resp.history().events_size() == 0);

  // The one still parked is answered by the close.
  auto wt = w.next_workflow_task();
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"both\"")}).ok());
  auto [patient_status, patient_resp] = patient.get();
  REQUIRE(patient_status.error_message() == "");
  REQUIRE(patient_resp.history().events_size() == 1);
  CHECK(patient_resp.history().events(0).event_type() == enums::EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED);
}

TEST_CASE("a page token that was not issued by the server is INVALID_ARGUMENT", "[server][history]") {
  TestServer s;
  RawWorker w(s, "history");
  w.start("wf-bad-token");
  auto req = history_request("wf-bad-token");
  req.set_next_page_token("nonsense");
  ws::GetWorkflowExecutionHistoryResponse resp;
  auto st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, req, resp);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "next_page_token is malformed: it was not issued by this server");
}

TEST_CASE("a wait_new_event read without a filter tails the history: each answer holds only the new events",
          "[server][history]") {
  TestServer s;
  RawWorker w(s, "history");
  w.start("wf-tail");
  auto wt = w.next_workflow_task();

  auto tail = history_request("wf-tail");
  tail.set_wait_new_event(true);
  ws::GetWorkflowExecutionHistoryResponse first;
  REQUIRE(call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, tail, first).ok());
  CHECK(event_lines({first.history().events().begin(), first.history().events().end()}) ==
        Lines{"1 WorkflowExecutionStarted", "2 WorkflowTaskScheduled", "3 WorkflowTaskStarted"});
  REQUIRE_FALSE(first.next_page_token().empty());  // running: there will be more

  tail.set_next_page_token(first.next_page_token());
  auto waiting = std::async(std::launch::async, [&] {
    ws::GetWorkflowExecutionHistoryResponse resp;
    auto st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, tail, resp, 30s);
    return std::make_pair(st, resp);
  });
  REQUIRE(w.complete_workflow_task(wt.task_token(), {complete_workflow("\"done\"")}).ok());
  auto [st, next] = waiting.get();
  REQUIRE(st.error_message() == "");
  CHECK(event_lines({next.history().events().begin(), next.history().events().end()}) ==
        Lines{"4 WorkflowTaskCompleted", "5 WorkflowExecutionCompleted"});
  CHECK(next.next_page_token().empty());  // closed: nothing more will come
}

// Many readers at once while the history grows: tails (wait_new_event, no filter) and result
// waiters (CLOSE_EVENT) parked on a run that two clients keep signaling, then a terminate. Each
// answer is read under the run's turn or from what a committer saw of the run (history_reads.cpp),
// so every tail must see each event exactly once and in order, however its reads interleave with
// the commits, and every result waiter the close event. No answer may be empty: the long poll's
// own deadline is set far beyond the test, so only a reader no commit woke would get one.
TEST_CASE("tails and result waiters read while signals commit see every event once, in order, each woken",
          "[server][history]") {
  const bool sqlite = GENERATE(false, true);
  TestServer s(many_readers_options(sqlite));
  RawWorker w(s, "history");
  w.start("wf-busy");

  struct Reader {
    std::vector<HistoryEvent> events;  // all a tail read, or the close event a result waiter got
    int empty_answers = 0;
    std::string error;
  };
  constexpr int kTails = 4, kResultWaiters = 2, kSignalers = 2, kSignalsEach = 100;
  std::vector<Reader> readers(kTails + kResultWaiters);
  auto read_until_closed = [&](Reader& r, bool close_only) {
    std::string token;
    do {
      auto req = close_only ? wait_for_close_request("wf-busy", token) : history_request("wf-busy");
      if (!close_only) {
        req.set_wait_new_event(true);
        req.set_next_page_token(token);
      }
      ws::GetWorkflowExecutionHistoryResponse resp;
      auto st = call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, req, resp, 4min);
      if (!st.ok()) {
        r.error = st.error_message();
        return;
      }
      if (resp.history().events().empty()) ++r.empty_answers;
      for (const auto& e : resp.history().events()) r.events.push_back(e);
      token = resp.next_page_token();
    } while (!token.empty());
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kTails + kResultWaiters; ++i)
    threads.emplace_back([&, i] { read_until_closed(readers[i], i >= kTails); });
  std::vector<std::string> signal_errors(kSignalers);
  std::vector<std::thread> signalers;
  for (int i = 0; i < kSignalers; ++i)
    signalers.emplace_back([&, i] {
      for (int n = 0; n < kSignalsEach && signal_errors[i].empty(); ++n)
        if (auto st = send_signal(s, "wf-busy", "tick"); !st.ok()) signal_errors[i] = st.error_message();
    });
  for (auto& t : signalers) t.join();
  REQUIRE(terminate(s, "wf-busy").ok());
  for (auto& t : threads) t.join();

  CHECK(signal_errors == std::vector<std::string>(kSignalers));
  auto history = history_lines(s, "wf-busy");
  REQUIRE(history.size() == 2 + kSignalers * kSignalsEach + 1);  // started, task scheduled, signals, terminated
  CHECK(history.back() == std::to_string(history.size()) + " WorkflowExecutionTerminated");
  for (int i = 0; i < kTails + kResultWaiters; ++i) {
    INFO((i < kTails ? "tail " : "result waiter ") << i << " on " << (sqlite ? "SQLite" : "memory"));
    CHECK(readers[i].error == "");
    CHECK(readers[i].empty_answers == 0);
    if (i < kTails)
      CHECK(event_lines(readers[i].events) == history);
    else
      CHECK(event_lines(readers[i].events) == Lines{history.back()});
  }
}

// A result waiter asks at the moment its run closes, hundreds of times over: the close may commit
// between the waiter's first read and its parking, which only its second look after parking
// catches (history_reads.cpp). Every waiter must get the close event; one left unwoken answers
// empty at the long poll's deadline, set far beyond the test, and stops its thread's loop there.
TEST_CASE("result waiters asking as their runs close are each answered with the close event", "[server][history]") {
  const bool sqlite = GENERATE(false, true);
  TestServer s(many_readers_options(sqlite));
  RawWorker w(s, "history");
  constexpr int kPairs = 16, kRunsEach = 125;
  for (int i = 0; i < kPairs * kRunsEach; ++i) w.start("wf-close-" + std::to_string(i));

  // Each pair: a waiter and a terminator meet at a barrier per run, then ask at once. More threads
  // than cores, so a waiter is sometimes preempted between its first read and parking.
  struct Outcome {
    int answered = 0;
    std::string failure;  // the first run whose waiter got no close event, and what it got
    std::string terminate_error;
  };
  std::vector<Outcome> outcomes(kPairs);
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<std::barrier<>>> barriers;
  for (int p = 0; p < kPairs; ++p) barriers.push_back(std::make_unique<std::barrier<>>(2));
  std::vector<std::atomic<bool>> stop(kPairs);
  for (int p = 0; p < kPairs; ++p) {
    threads.emplace_back([&, p] {
      for (int i = p * kRunsEach; i < (p + 1) * kRunsEach; ++i) {
        barriers[p]->arrive_and_wait();
        if (stop[p]) return;
        const std::string id = "wf-close-" + std::to_string(i);
        ws::GetWorkflowExecutionHistoryResponse resp;
        auto st =
            call(s, &ws::WorkflowService::Stub::GetWorkflowExecutionHistory, wait_for_close_request(id), resp, 4min);
        auto lines = event_lines({resp.history().events().begin(), resp.history().events().end()});
        if (!st.ok() || lines.size() != 1 || lines[0].find("WorkflowExecutionTerminated") == std::string::npos) {
          outcomes[p].failure = id + ": " + (st.ok() ? ::Catch::Detail::stringify(lines) : st.error_message());
          stop[p] = true;
          barriers[p]->arrive_and_drop();
          return;
        }
        ++outcomes[p].answered;
      }
    });
    threads.emplace_back([&, p] {
      for (int i = p * kRunsEach; i < (p + 1) * kRunsEach; ++i) {
        barriers[p]->arrive_and_wait();
        if (stop[p]) return;
        if (auto st = terminate(s, "wf-close-" + std::to_string(i)); !st.ok())
          outcomes[p].terminate_error = st.error_message();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int p = 0; p < kPairs; ++p) {
    INFO("pair " << p << " on " << (sqlite ? "SQLite" : "memory"));
    CHECK(outcomes[p].failure == "");
    CHECK(outcomes[p].terminate_error == "");
    CHECK(outcomes[p].answered == kRunsEach);
  }
}
