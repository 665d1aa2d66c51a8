#include "data/mcq.h"

#include <nlohmann/json.hpp>
#include <set>

#include "data/error.h"
#include "data/line_reader.h"

namespace spade::data {
namespace {

using nlohmann::json;

std::string RequireString(const json& obj, const char* key, const std::string& where,
                          const std::string& context) {
  auto it = obj.find(key);
  if (it == obj.end()) throw ParseError(where, "missing field '" + context + key + "'");
  if (!it->is_string()) throw ParseError(where, "field '" + context + key + "' is not a string");
  return it->get<std::string>();
}

std::string LabelList(const std::vector<Choice>& choices) {
  if (choices.empty()) return "";
  return choices.front().label + "-" + choices.back().label;
}

}  // namespace

int McqItem::answer_index() const {
  for (size_t i = 0; i < choices.size(); ++i) {
    if (choices[i].label == answer_key) return static_cast<int>(i);
  }
  return -1;
}

void ValidateMcqItem(const McqItem& item, const std::string& where) {
  if (item.stem.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw ParseError(where, "empty question stem");
  }
  if (item.choices.size() < 2) {
    throw ParseError(where, "a question needs at least two choices, got " +
                                std::to_string(item.choices.size()));
  }
  std::set<std::string> labels;
  for (const Choice& c : item.choices) {
    if (c.label.empty()) throw ParseError(where, "a choice has an empty label");
    if (c.text.find_first_not_of(" \t\r\n") == std::string::npos) {
      throw ParseError(where, "choice '" + c.label + "' has empty text");
    }
    if (!labels.insert(c.label).second) {
      throw ParseError(where, "duplicate choice label '" + c.label + "'");
    }
  }
  if (!item.answer_key.empty() && item.answer_index() < 0) {
    throw ParseError(where, "choice '" + item.answer_key + "' is not among the labels " +
                                LabelList(item.choices));
  }
}

McqItem ParseMcqLine(std::string_view line, const std::string& where) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ParseError(where, "not valid JSON");
  if (!j.is_object()) throw ParseError(where, "expected a JSON object");
  McqItem item;
  item.source = where;
  if (auto it = j.find("id"); it != j.end() && it->is_string()) item.id = it->get<std::string>();
  auto q = j.find("question");
  if (q == j.end() || !q->is_object()) throw ParseError(where, "missing object 'question'");
  item.stem = RequireString(*q, "stem", where, "question.");
  if (auto it = q->find("question_concept"); it != q->end() && it->is_string()) {
    item.question_concept = it->get<std::string>();
  }
  auto choices = q->find("choices");
  if (choices == q->end() || !choices->is_array()) {
    throw ParseError(where, "missing array 'question.choices'");
  }
  for (size_t i = 0; i < choices->size(); ++i) {
    const json& c = (*choices)[i];
    std::string ctx = "question.choices[" + std::to_string(i) + "].";
    if (!c.is_object()) throw ParseError(where, "'" + ctx.substr(0, ctx.size() - 1) + "' is not an object");
    item.choices.push_back({RequireString(c, "label", where, ctx), RequireString(c, "text", where, ctx)});
  }
  if (auto it = j.find("answerKey"); it != j.end()) {
    if (!it->is_string()) throw ParseError(where, "field 'answerKey' is not a string");
    item.answer_key = it->get<std::string>();
  }
  if (item.id.empty()) item.id = where;
  ValidateMcqItem(item, where);
  return item;
}

std::vector<McqItem> ReadMcqJsonl(const std::string& path) {
  LineReader reader(path);
  std::vector<McqItem> items;
  std::string_view line;
  for (;;) {
    LineReader::Status s = reader.Next(&line);
    if (s == LineReader::Status::kEnd) break;
    std::string where = path + ":" + std::to_string(reader.line_number());
    if (s == LineReader::Status::kTooLong) throw ParseError(where, "line too long");
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    items.push_back(ParseMcqLine(line, where));
  }
  return items;
}

}  // namespace spade::data
