// Building a pretraining corpus from text sources (data/corpus/reader.h):
//
//   DIR/train.txt, DIR/heldout.txt  UTF-8, one sentence per line, a blank line after every
//                                   document (so sentence-order prediction draws segments that
//                                   really were consecutive).
//   DIR/manifest.json               per source: path, format, sha256, documents, sentences,
//                                   words, skipped lines, filtered and duplicate sentences;
//                                   totals; the split sizes; the tokenizers trained.
//   DIR/tokenizers/...              whatever CorpusCallbacks::train_tokenizers writes.
//
// Cleaning, in this order, for every sentence of every source:
//   1. filters: mis-encoded text (U+FFFD, C1/C0 controls, doubly-encoded UTF-8), slurs, and
//      sentences with no letter or digit — counted as `filtered`;
//   2. de-duplication, sentence-level and corpus-wide: a sentence of at least
//      `min_dedup_words` words whose normalised form (DedupKey: ASCII lower-cased, ASCII
//      punctuation and spaces removed) hashes (64-bit) like an earlier sentence's is dropped —
//      the first occurrence wins, in source order. Shorter sentences ("Yes.", "He nodded.")
//      are kept: repeated in running text, they are not copies. A document left empty is
//      dropped. Because de-duplication runs before the split, no deduplicated sentence is in
//      both train and held-out.
//   3. the held-out split, by whole documents: a document is held out when
//      Hash64(its sentences' keys, seed) / 2^64 < heldout_fraction — deterministic, and
//      independent of the order and number of other documents.
//
// Atomic like the KG builder: everything is written into DIR.tmp-<pid> beside DIR and swapped
// into place at the end (renameat2 RENAME_EXCHANGE); any failure removes the temporary
// directory and leaves a previous DIR as it was. A non-empty DIR that is not a Spade corpus
// (no manifest.json saying so) is never replaced.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "data/corpus/reader.h"

namespace spade::data::corpus {

inline constexpr int kCorpusFormatVersion = 1;

struct SourceSpec {
  std::string path;  // file, directory, or "kg:DIR"
  SourceFormat format = SourceFormat::kAuto;
};

struct CorpusOptions {
  std::string out;  // corpus directory to create or replace
  std::vector<SourceSpec> sources;
  double heldout_fraction = 0.01;  // share of documents held out, in [0, 1)
  uint64_t seed = 0;               // of the held-out split (and the tokenizers' sample)
  bool strict = false;             // an invalid line is fatal instead of skipped
  int min_dedup_words = 4;         // shorter sentences are never treated as duplicates
};

struct SourceStats {
  std::string path;
  std::string format;
  std::string sha256;      // of the file; WordNet: of data.{noun,verb,adj,adv}; KG: as its reader says
  uint64_t documents = 0;  // written (train + held-out), after filters and de-duplication
  uint64_t sentences = 0;
  uint64_t words = 0;          // whitespace-separated tokens
  uint64_t skipped_lines = 0;  // malformed or invalid-UTF-8 lines, reported and skipped
  uint64_t invalid_utf8 = 0;   // of which invalid UTF-8
  uint64_t filtered = 0;       // sentences left out by a filter
  uint64_t duplicates = 0;     // sentences dropped as duplicates
  uint64_t heldout_documents = 0;
};

struct SplitStats {
  std::string file;  // "train.txt"
  uint64_t documents = 0, sentences = 0, words = 0, bytes = 0;
};

struct TokenizerInfo {
  std::string name;                // "wordpiece", "sentencepiece", "bpe"
  std::string dir;                 // relative to the corpus directory
  std::vector<std::string> files;  // relative to `dir`
  int requested_vocab_size = 0;
  int vocab_size = 0;  // as trained (merge-based trainers stop early on small data)
  uint64_t trained_on_sentences = 0;
  std::string sample;  // how the training text was chosen
  double seconds = 0;
};

struct CorpusManifest {
  int format_version = kCorpusFormatVersion;
  std::vector<SourceStats> sources;
  SplitStats train, heldout;
  double heldout_fraction = 0;
  uint64_t seed = 0;
  int min_dedup_words = 0;
  std::vector<TokenizerInfo> tokenizers;
  std::string built_at;  // ISO 8601 UTC
  double build_seconds = 0;
};

nlohmann::ordered_json ManifestToJson(const CorpusManifest& m);
// Reads DIR/manifest.json; throws spade::Error kNotFound / kCorruption (not a Spade corpus) /
// kFormatVersion naming the file.
CorpusManifest ReadManifest(const std::string& dir);

struct CorpusCallbacks {
  // Reads a "kg:DIR" source (data/ cannot: see kg/verbalize.h). Unset: kg sources are refused.
  std::function<void(const std::string& dir, ReadContext& ctx, std::string* sha256)> read_kg;
  // Trains tokenizers on `tmp_dir`/train.txt once both splits are written; files go under
  // `tmp_dir`. Returns what it wrote, for the manifest. A throw aborts the build.
  std::function<std::vector<TokenizerInfo>(const std::string& tmp_dir, const CorpusManifest& so_far)> train_tokenizers;
  // A skipped line ("file:line", reason); not called under strict (the build throws).
  std::function<void(const std::string& where, const std::string& reason)> on_bad_line;
  // Progress of the current source: its path, bytes done and total, sentences written so far.
  std::function<void(const std::string& path, uint64_t done, uint64_t total, uint64_t sentences)> on_progress;
  // A phase starts: "read PATH", "tokenizers", "swap".
  std::function<void(const std::string& phase)> on_phase;
};

// Builds the corpus at options.out and returns its manifest (also written as manifest.json).
// Throws spade::Error (nothing at options.out changes): kNotFound for a missing source,
// kInvalidArgument for a dev/test file, an undetectable format, an empty corpus or bad options,
// ParseError under strict, kIOError when writing fails.
CorpusManifest BuildCorpus(const CorpusOptions& options, const CorpusCallbacks& callbacks = {});

}  // namespace spade::data::corpus
