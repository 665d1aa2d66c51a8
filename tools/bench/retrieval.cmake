# Included from tools/bench/CMakeLists.txt: the retrieval speed benchmark.
add_executable(retrieval_bench ${CMAKE_CURRENT_LIST_DIR}/retrieval_bench.cc)
target_include_directories(retrieval_bench PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(retrieval_bench PRIVATE spade_retrieval nlohmann_json::nlohmann_json)
spade_warnings(retrieval_bench)
