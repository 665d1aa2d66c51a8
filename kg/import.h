// Importers: turn the triples files users have into normalised assertions.
//
// Each row parser is a pure function of one line (fuzzed in tests/fuzz/); ImportFile
// streams a file (gzip or plain) through it on several threads and hands batches of
// assertions, in file order, to a sink.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace spade::kg {

enum class InputFormat { kAuto, kConceptNet5, kConceptNet100k, kConceptNet4, kTsv, kWordNet };

// "conceptnet5", "conceptnet100k" (also "kagnet"), "conceptnet4", "tsv", "wordnet", "auto".
// Throws spade::Error kInvalidArgument for another name.
InputFormat ParseInputFormat(std::string_view name);
std::string FormatName(InputFormat format);

// Detects the format of `path` from its first rows (directories are WordNet). Throws
// spade::Error naming the file when no format fits.
InputFormat DetectFormat(const std::string& path);

// One assertion with names already normalised (kg/normalize.h) and the relation in its
// canonical spelling (kg/relations.h).
struct RawAssertion {
  std::string head;
  std::string relation;
  std::string tail;
  float weight = 1.0f;   // >= 0
  bool negated = false;  // "head does NOT relation tail": stored apart, never evidence
  // std::hash<std::string_view> of head and tail, when `hashed`: ImportFile computes them on
  // its parser threads so that interning names on the builder's thread only probes.
  bool hashed = false;
  uint64_t head_hash = 0, tail_hash = 0;
};

struct RowOptions {
  // ConceptNet 5 languages to keep (both ends must match); empty keeps every language.
  // Concepts of English are named bare ("dog"); of any other language "fr:chat".
  std::set<std::string> languages = {"en"};
};

enum class RowResult {
  kAssertion,  // *out holds an assertion
  kIgnored,    // blank line, comment or header: not a data row
  kSkipped,    // a well-formed row the options leave out (another language, self loop)
  kError,      // malformed: *reason says why
};

RowResult ParseConceptNet5Row(std::string_view line, const RowOptions& options, RawAssertion* out,
                              std::string* reason);
// `rel \t head \t tail [\t weight]`: ConceptNet-100k, KagNet's conceptnet.en.csv, and
// ConceptNet 4 as shipped (a negative score is a negated assertion).
RowResult ParseRelHeadTailRow(std::string_view line, RawAssertion* out, std::string* reason);
// `head \t relation \t tail [\t weight]`, '#' comments; a negative weight is negated.
RowResult ParseTsvRow(std::string_view line, RawAssertion* out, std::string* reason);

struct ImportStats {
  uint64_t rows = 0;        // data rows (not comments/blank)
  uint64_t bad_rows = 0;
  uint64_t skipped = 0;
  uint64_t assertions = 0;  // positive
  uint64_t negated = 0;
};

struct ImportOptions {
  RowOptions rows;
  bool strict = false;  // stop at the first bad row (throws spade::ParseError)
  int threads = 2;      // parser threads
};

struct ImportCallbacks {
  // Batches of assertions in file order; called on the calling thread.
  std::function<void(std::vector<RawAssertion>&&)> sink;
  // A bad row ("file:line", reason), in file order; called unless strict.
  std::function<void(const std::string& where, const std::string& reason)> on_bad_row;
  // Progress: bytes of the file consumed so far, its size (compressed sizes for .gz),
  // and data rows parsed so far.
  std::function<void(uint64_t done, uint64_t total, uint64_t rows)> on_progress;
};

// Streams `path` in `format` (not kAuto, not kWordNet). Throws spade::Error for an
// unreadable file or a truncated gzip stream, and ParseError under options.strict.
ImportStats ImportFile(const std::string& path, InputFormat format, const ImportOptions& options,
                       const ImportCallbacks& callbacks);

// Reads WordNet 3.0's data.{noun,verb,adj,adv} in `dir` (see kg/FORMAT.md for the
// pointer -> relation mapping). Lemmas become concepts ("dog", "hot_dog").
ImportStats ImportWordNet(const std::string& dir, const ImportOptions& options,
                          const ImportCallbacks& callbacks);

// sha256 of an input: the file itself, or for WordNet its four data files in order.
std::string InputSha256(const std::string& path, InputFormat format);

}  // namespace spade::kg
