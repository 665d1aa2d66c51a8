# Every third-party library comes from Debian 12 packages; tools/deps.sh installs them.
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(RocksDB CONFIG REQUIRED)
find_package(Boost 1.74 REQUIRED)              # header-only: Boost.Graph
find_package(Eigen3 3.4 CONFIG REQUIRED)
find_package(nlohmann_json 3.10 CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
if(SPADE_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
# The shared RocksDB avoids dragging the static archive's gflags/snappy/lz4 link line.
set(SPADE_ROCKSDB RocksDB::rocksdb-shared)
