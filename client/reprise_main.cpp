// The `reprise` command line. Its verbs follow Temporal's `temporal` CLI so that what learners
// type here also works there. For now: `reprise server start-dev`, the development server on an
// embedded SQLite file (the workflow verbs arrive with the client library).
// Exercised by tests/engine/server_process_test.cpp (which starts it as a real process).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "engine/server.h"
#include "history/sqlite_history_store.h"

namespace {

std::atomic<bool> stop_requested{false};

int run_start_dev(const std::string& db_file, const std::string& ip, int port, const std::string& log_level,
                  const std::string& synchronous, const std::vector<std::string>& namespaces) {
  spdlog::set_level(spdlog::level::from_str(log_level));
  reprise::history::SqliteStoreOptions store_options;
  store_options.path = db_file;
  if (synchronous == "off")
    store_options.synchronous = reprise::history::SqliteStoreOptions::Synchronous::Off;
  else if (synchronous == "normal")
    store_options.synchronous = reprise::history::SqliteStoreOptions::Synchronous::Normal;
  auto store = reprise::history::open_sqlite_store(store_options);
  reprise::engine::SystemClock clock;
  reprise::engine::ServerOptions options;
  options.ip = ip;
  options.port = port;
  options.engine.namespaces = {"default"};
  for (const auto& ns : namespaces)
    if (ns != "default") options.engine.namespaces.push_back(ns);
  reprise::engine::Server server(*store, clock, options);
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
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reprise: a small durable-execution engine that speaks Temporal's protocol"};
  app.require_subcommand(1);

  auto* server = app.add_subcommand("server", "Run a Reprise server");
  server->require_subcommand(1);
  auto* start_dev = server->add_subcommand("start-dev", "Start a development server on an embedded SQLite file");
  std::string db_file = "reprise-dev.db";
  std::string ip = "127.0.0.1";
  int port = 7233;
  std::string log_level = "info";
  std::string synchronous = "full";
  std::vector<std::string> namespaces;
  start_dev->add_option("-f,--db-filename", db_file, "SQLite file holding every history (created if missing)")
      ->capture_default_str();
  start_dev->add_option("--ip", ip, "Address to listen on")->capture_default_str();
  start_dev->add_option("-p,--port", port, "Port to listen on")->capture_default_str()->check(CLI::Range(0, 65535));
  start_dev->add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  start_dev->add_option("--sqlite-synchronous", synchronous,
                        "full: every commit is on disk before it is acknowledged; normal; off")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal", "off"}));
  start_dev->add_option("-n,--namespace", namespaces, "Extra namespaces to create besides default");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (start_dev->parsed()) return run_start_dev(db_file, ip, port, log_level, synchronous, namespaces);
  } catch (const std::exception& e) {
    std::cerr << "reprise: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
