// Building a KG store from triples files: parse, normalise, merge, de-duplicate, sort in
// memory, write one SST file with RocksDB's SstFileWriter and ingest it into a fresh
// database in a temporary directory beside `out`, then swap it into place atomically.
// A build killed at any moment leaves the previous store at `out` intact.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "kg/import.h"
#include "kg/store.h"

namespace spade::kg {

struct BuildInput {
  std::string path;
  InputFormat format = InputFormat::kAuto;  // detected per input when kAuto
};

struct BuildOptions {
  std::string out;                      // store directory to create or replace
  std::vector<BuildInput> inputs;
  std::string relations = "full";       // "full" or "kagnet17"
  std::string merge_file;               // KagNet's merge_relation.txt, for "kagnet17"
  ImportOptions import;                 // languages, strict, threads
};

struct BuildCallbacks {
  // A malformed row ("file:line", reason); not called under strict (the build throws).
  std::function<void(const std::string& where, const std::string& reason)> on_bad_row;
  // Progress of the current input: its path, bytes done and total, rows parsed.
  std::function<void(const std::string& path, uint64_t done, uint64_t total, uint64_t rows)> on_progress;
  // A phase starts: "import PATH", "sort", "write", "ingest".
  std::function<void(const std::string& phase)> on_phase;
};

// Builds the store; returns its metadata. Throws spade::Error (nothing at `out` changes).
KgMetadata BuildKg(const BuildOptions& options, const BuildCallbacks& callbacks = {});

}  // namespace spade::kg
