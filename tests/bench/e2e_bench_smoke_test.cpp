// The end-to-end benchmark (bench/e2e_bench.cpp) run end to end on 20 workflows of each shape: a
// real server process on a fresh SQLite file, one worker process, the load generator. It checks
// what the benchmark reports, never how fast: every workflow completed with its right result, and
// the figures were measured (events were counted in the database, commits in the server's log).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST_CASE("e2e_bench runs 20 workflows of 1 and of 10 activities to their right results") {
  const std::string out =
      (std::filesystem::temp_directory_path() / ("e2e_smoke." + std::to_string(getpid()) + ".jsonl")).string();
  std::filesystem::remove(out);
  // No time bound worth the name (--seconds 240): the count, not the clock, must end each run.
  const std::string command = std::string(E2E_BENCH_BINARY) +
                              " --activities 1,10 --concurrency 4 --workers 1 --count 20 --warmup 0"
                              " --seconds 240 --out " +
                              out + " > " + out + ".log 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream log_file(out + ".log");
  INFO("e2e_bench output:\n" << std::string(std::istreambuf_iterator<char>(log_file), {}));
  REQUIRE(status == 0);  // exit 1: a workflow failed, returned a wrong result, or a process did not stop cleanly

  const auto lines = read_lines(out);
  REQUIRE(lines.size() == 2);
  for (const auto& line : lines) {
    INFO(line.dump());
    const auto& m = line["metrics"];
    const int64_t activities = line["activities"];
    CHECK(line["ok"] == true);
    CHECK(m["workflows"] == 20);
    // Every run's history is in the database: at least the 5 events of a workflow with no
    // activity, plus 6 per activity (scheduled, started, completed, and a workflow task).
    CHECK(m["events"].get<int64_t>() >= 20 * (5 + 6 * activities));
    CHECK(m["bytes_per_event"].get<double>() > 0);
    CHECK(m["store_commits"].get<int64_t>() > 0);
    CHECK(m["store_transactions"].get<int64_t>() >= m["store_commits"].get<int64_t>());
    CHECK(m["worker_workflow_tasks"].get<int64_t>() >= 20 * (1 + activities));
    CHECK(m["latency_p99_ms"].get<double>() >= m["latency_p50_ms"].get<double>());
  }
  std::filesystem::remove(out);
  std::filesystem::remove(out + ".log");
}
