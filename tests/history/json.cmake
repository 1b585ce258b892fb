# Tests for history/history_json.* (Temporal's history JSON, both dialects, both directions).
# Included from tests/history/CMakeLists.txt. The real histories live outside this repository, in
# shared/reference/histories beside it (CI clones the repo with shared/ next to it); without them
# the tests that read them are compiled out and a message says so.
set(REPRISE_HISTORIES_DIR "${PROJECT_SOURCE_DIR}/../shared/reference/histories"
    CACHE PATH "Recorded Temporal histories used as test fixtures")
cmake_path(NORMAL_PATH REPRISE_HISTORIES_DIR OUTPUT_VARIABLE _reprise_histories_dir)

add_executable(reprise_history_json_tests
  ${CMAKE_CURRENT_LIST_DIR}/json_fixtures_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json_dialect_test.cpp
  ${CMAKE_CURRENT_LIST_DIR}/json_errors_test.cpp)
target_link_libraries(reprise_history_json_tests PRIVATE reprise_history Catch2::Catch2WithMain
  nlohmann_json::nlohmann_json)
target_compile_definitions(reprise_history_json_tests PRIVATE
  REPRISE_JSON_TEST_DATA_DIR="${CMAKE_CURRENT_LIST_DIR}")

if(IS_DIRECTORY "${_reprise_histories_dir}")
  target_compile_definitions(reprise_history_json_tests PRIVATE
    REPRISE_HISTORIES_DIR="${_reprise_histories_dir}")
else()
  message(STATUS "Reprise: ${_reprise_histories_dir} not found; "
                 "history JSON tests on recorded histories are skipped")
endif()

catch_discover_tests(reprise_history_json_tests)
