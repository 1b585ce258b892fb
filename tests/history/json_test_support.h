// Helpers shared by the history JSON tests (tests/history/json_*_test.cpp): where the fixture
// histories are, and reading a file into a string.
//
// REPRISE_HISTORIES_DIR (set by tests/history/json.cmake) points at shared/reference/histories: real
// histories recorded by Temporal servers and SDKs. When that directory was absent at configure time
// the macro is undefined and the tests that need it are compiled out.
// REPRISE_JSON_TEST_DATA_DIR is tests/history itself (json_retry_on_error.canonical.json lives there).
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace reprise::history::testing {

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace reprise::history::testing
