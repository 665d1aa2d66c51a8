// Readers for the released file formats of the multiple-choice benchmarks Spade evaluates
// on, all turned into data::McqItem (data/mcq.h):
//
//   csqa  CommonsenseQA   jsonl {"id", "question": {"stem", "choices": [...],
//                         "question_concept"}, "answerKey"?}; answers inline.
//   obqa  OpenBookQA      the same shape, four choices, no "question_concept".
//   siqa  Social IQa      jsonl {"context", "question", "answerA", "answerB", "answerC"}
//                         plus a line-aligned labels file (train-labels.lst,
//                         dev-labels.lst) of "1".."3". Stem = context + " " + question;
//                         choices A/B/C; label 1 -> "A".
//   piqa  PIQA            jsonl {"goal", "sol1", "sol2"} plus a line-aligned labels file
//                         (train-labels.lst, valid-labels.lst) of "0"/"1". Stem = goal;
//                         choices A/B; label 0 -> "A".
//
// What is accepted, in every format:
//   * plain or gzip input (by content, through LineReader), for the jsonl and labels files;
//   * "\n" or "\r\n" line ends;
//   * blank (spaces/tabs only) lines at the END of a file, which are ignored. A blank line
//     followed by a non-blank one is an error: in siqa/piqa it would shift every label after
//     it onto the wrong question, so no format accepts it;
//   * extra JSON keys, which are ignored;
//   * a label with surrounding spaces/tabs ("2 ").
// Every row error is a spade::ParseError whose message starts "file:line: "; file-level
// errors (counts, missing files, bad options) are spade::Error. Nothing here is stateful,
// so all functions are thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/mcq.h"

namespace spade::data {

enum class McqFormat { kCommonsenseQa, kOpenBookQa, kSocialIqa, kPiqa };

// "csqa", "obqa", "siqa" or "piqa".
std::string_view McqFormatName(McqFormat format);

// Inverse of McqFormatName. Throws spade::Error kInvalidArgument for any other name
// ("unknown question format 'x' (expected csqa, obqa, siqa or piqa)").
McqFormat ParseMcqFormat(std::string_view name);

// True for siqa and piqa, whose answers live in a separate labels file.
bool McqFormatHasLabelsFile(McqFormat format);

// Tells the format from the keys of one jsonl line: a "question" object with a "stem" is
// csqa when it has "question_concept", else obqa; "context"+"question"+"answerA" is siqa;
// "goal"+"sol1" is piqa. Throws spade::ParseError naming `where` for malformed JSON, a
// non-object, or keys that match none of these ("cannot tell the question format from the
// keys [a, b]; ...", keys sorted).
McqFormat DetectMcqFormatFromLine(std::string_view line, const std::string& where);

// DetectMcqFormatFromLine on the first non-blank line of `jsonl_path` (plain or .gz).
// Throws spade::Error kNotFound for a missing file, kInvalidArgument for a file with no
// non-blank line, and the ParseErrors above (naming "jsonl_path:line").
McqFormat DetectMcqFormat(const std::string& jsonl_path);

// The labels file that belongs to `jsonl_path`, as the Social IQa and PIQA releases name
// them: with X = jsonl_path minus ".gz" and then ".jsonl", the first of X-labels.lst,
// X-labels.txt, X-labels.lst.gz, X-labels.txt.gz that exists (train.jsonl ->
// train-labels.lst, valid.jsonl.gz -> valid-labels.lst). std::nullopt when none exists.
std::optional<std::string> DefaultLabelsPath(const std::string& jsonl_path);

// The candidates DefaultLabelsPath tries, in order (whether or not they exist).
std::vector<std::string> LabelsPathCandidates(const std::string& jsonl_path);

struct McqReadOptions {
  // The format; std::nullopt (default) detects it from the first line (DetectMcqFormat).
  // Set it from ParseMcqFormat("siqa") etc.; an explicit format is never second-guessed.
  std::optional<McqFormat> format;
  // siqa/piqa labels file; "" (default) uses DefaultLabelsPath. Must be "" for csqa/obqa,
  // whose answers are inline.
  std::string labels_path;
  // true (default): a siqa/piqa file without a labels file is an error. false: read it as
  // an unlabelled test set (answer_key left empty) when no labels file is given or found.
  bool require_labels = true;
};

// Where ReadMcqFile will read from: the format (given or detected) and the labels path
// (given, or found by DefaultLabelsPath; "" for csqa/obqa and for unlabelled test sets).
struct McqSource {
  McqFormat format = McqFormat::kCommonsenseQa;
  std::string jsonl_path;
  std::string labels_path;
};

// Resolves `options` against the files on disk without reading past the first line.
// Throws spade::Error kNotFound for a missing jsonl, for a given labels_path that does not
// exist ("labels file /d/dev-labels.lst does not exist"), and, when require_labels, for a
// siqa/piqa file with no labels file (naming every candidate tried); kInvalidArgument for a
// labels_path given with csqa/obqa; detection errors as DetectMcqFormat.
McqSource ResolveMcqSource(const std::string& jsonl_path, const McqReadOptions& options = {});

// Reads a whole file into items, in file order. Each item's `source` is "jsonl_path:line";
// its `id` is the file's "id" when the row has a string one (csqa/obqa always, siqa/piqa
// when present), else "basename:line" ("dev.jsonl:7"). Choices are validated as
// ValidateMcqItem does. Throws the first problem found, checking in this order:
//   spade::Error as ResolveMcqSource;
//   ParseError for the jsonl rows, top to bottom: "file:line: not valid JSON", "missing field 'answerB'",
//     "field 'goal' is empty", "field 'sol1' is not a string", "blank line before the
//     end of the file" (jsonl or labels file), "line too long", and ParseMcqLine's
//     errors for csqa/obqa;
//   spade::Error kInvalidArgument "dev-labels.lst has 1,953 lines, dev.jsonl 1,954" when
//     the counts of non-blank lines differ (paths as given); checked before label values,
//     so a misaligned file is reported as misaligned;
//   ParseError "dev-labels.lst:7: label '4' is not one of 1-3".
std::vector<McqItem> ReadMcqFile(const std::string& jsonl_path, const McqReadOptions& options = {});

// One siqa/piqa jsonl line without its label (answer_key empty); `where` is "file:line",
// used in errors and as `source`; `id` is the row's "id" or `where`'s basename part.
McqItem ParseSocialIqaLine(std::string_view line, const std::string& where);
McqItem ParsePiqaLine(std::string_view line, const std::string& where);

// Maps one labels-file entry to a choice label: siqa "1".."3" -> "A".."C", piqa "0"/"1"
// -> "A"/"B". Throws ParseError naming `where` for anything else. csqa/obqa throw
// spade::Error kInvalidArgument (they have no labels file).
std::string McqLabelToKey(McqFormat format, std::string_view label, const std::string& where);

}  // namespace spade::data
