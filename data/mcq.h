// Multiple-choice QA items, read from CommonsenseQA-style jsonl (CommonsenseQA,
// OpenBookQA): {"id", "question": {"stem", "choices": [{"label", "text"}],
// "question_concept"?}, "answerKey"?}.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace spade::data {

struct Choice {
  std::string label;  // "A".."E"
  std::string text;
};

struct McqItem {
  std::string id;
  std::string stem;
  std::vector<Choice> choices;
  std::string answer_key;        // empty when the data set gives none (test sets)
  std::string question_concept;  // CommonsenseQA only; empty otherwise
  std::string source;            // "file:line" it came from, for messages

  // Index of the choice labelled `answer_key`, or -1 when there is no key.
  int answer_index() const;
};

// Parses one jsonl line. Throws spade::ParseError naming `where` ("file:line") for
// malformed JSON, missing or empty fields, fewer than two choices, duplicate labels,
// or an answerKey that is not among the labels ("choice 'F' is not among the labels A-E").
McqItem ParseMcqLine(std::string_view line, const std::string& where);

// Reads every non-blank line of `path` (plain or .gz). Throws on the first bad line.
std::vector<McqItem> ReadMcqJsonl(const std::string& path);

// Checks an item built in code (e.g. from the CLI): same rules as ParseMcqLine.
void ValidateMcqItem(const McqItem& item, const std::string& where);

}  // namespace spade::data
