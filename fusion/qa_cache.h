// The evidence cache: a data set's QA examples (grounding, paths, features, tokens —
// everything BuildQaExamples computes, the slow part of `spade train` and `spade eval`) kept
// in one file per (data file, KG, tokenizer, options), so that the next run reads it back
// instead of recomputing it.
//
// Key: SHA-256 over the data file's bytes, the KG identity (concept/relation names and the
// TransE probe vectors, fusion/qa_model_io.h), the tokenizer's files, the example options,
// the scorer options and the scorer weights. The file is named
// `<data file name>.<key prefix>.qaex` in the cache directory, so a changed input makes a new
// key and a fresh build; the old file stays until the directory is cleared.
//
// Format: "SPADEQAX" + version byte + the 64-hex key + the examples (little-endian
// length-prefixed fields) + the 64-hex SHA-256 of everything before it. A file that is
// truncated, altered, of another version or of another key is never used: LoadQaExamples
// says why and the caller rebuilds (and rewrites it, atomically).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fusion/qa_train.h"

namespace spade::fusion {

std::string QaCacheKey(const std::string& data_path, const QaKnowledge& kg, const encoder::TextTokenizer& tok,
                       const QaExampleOptions& options);

// Writes atomically (temporary file + rename). Throws encoder::Error(kIOError) naming the path.
void SaveQaExamples(const std::string& path, const std::string& key, const std::vector<QaExample>& examples);

// The examples, or nullopt with *why set ("absent", "stale: built for key ...", "corrupt: ...").
std::optional<std::vector<QaExample>> LoadQaExamples(const std::string& path, const std::string& key,
                                                     std::string* why);

// BuildQaExamples through the cache in `cache_dir` (created; empty = no cache). *note (if
// non-null) says whether it was read, built, or rebuilt and why.
std::vector<QaExample> CachedQaExamples(const std::string& data_path, const std::vector<data::McqItem>& items,
                                        const QaKnowledge& kg, const encoder::TextTokenizer& tok,
                                        const QaExampleOptions& options, int threads, const std::string& cache_dir,
                                        std::string* note);

}  // namespace spade::fusion
