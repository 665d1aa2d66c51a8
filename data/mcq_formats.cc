#include "data/mcq_formats.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/error.h"
#include "data/line_reader.h"

namespace spade::data {
namespace {

using nlohmann::json;

bool IsBlank(std::string_view s) { return s.find_first_not_of(" \t") == std::string_view::npos; }

std::string_view Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// 1953 -> "1,953".
std::string WithCommas(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Where(const std::string& path, uint64_t line) {
  return std::string(path).append(":").append(std::to_string(line));
}

// "/d/dev.jsonl:7" -> "dev.jsonl:7".
std::string BasenameWhere(const std::string& where) {
  size_t slash = where.rfind('/');
  return slash == std::string::npos ? where : where.substr(slash + 1);
}

bool Exists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

json ParseObject(std::string_view line, const std::string& where) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ParseError(where, "not valid JSON");
  if (!j.is_object()) throw ParseError(where, "expected a JSON object");
  return j;
}

std::string RequireNonEmpty(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) throw ParseError(where, std::string("missing field '").append(key).append("'"));
  if (!it->is_string()) {
    throw ParseError(where, std::string("field '").append(key).append("' is not a string"));
  }
  std::string value = it->get<std::string>();
  if (value.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw ParseError(where, std::string("field '").append(key).append("' is empty"));
  }
  return value;
}

void SetIdAndSource(const json& j, const std::string& where, McqItem* item) {
  item->source = where;
  if (auto it = j.find("id"); it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
    item->id = it->get<std::string>();
  } else {
    item->id = BasenameWhere(where);
  }
}

// Reads the non-blank lines of a file, enforcing the "blank lines only at the end" rule.
// Calls on_line(line, where) for each; returns how many there were.
template <typename OnLine>
uint64_t ForEachLine(const std::string& path, OnLine on_line) {
  LineReader reader(path);
  std::string_view line;
  uint64_t count = 0;
  uint64_t first_blank = 0;  // line number of a pending blank line, 0 when none
  for (;;) {
    LineReader::Status s = reader.Next(&line);
    if (s == LineReader::Status::kEnd) break;
    const uint64_t n = reader.line_number();
    if (s == LineReader::Status::kTooLong) throw ParseError(Where(path, n), "line too long");
    if (IsBlank(line)) {
      if (first_blank == 0) first_blank = n;
      continue;
    }
    if (first_blank != 0) {
      throw ParseError(Where(path, first_blank), "blank line before the end of the file");
    }
    ++count;
    on_line(line, Where(path, n));
  }
  return count;
}

struct LabelRange {
  char lo, hi;  // accepted label characters
};

LabelRange RangeOf(McqFormat format) {
  return format == McqFormat::kSocialIqa ? LabelRange{'1', '3'} : LabelRange{'0', '1'};
}

std::string_view FormatList() { return "csqa, obqa, siqa or piqa"; }

}  // namespace

std::string_view McqFormatName(McqFormat format) {
  switch (format) {
    case McqFormat::kCommonsenseQa: return "csqa";
    case McqFormat::kOpenBookQa: return "obqa";
    case McqFormat::kSocialIqa: return "siqa";
    case McqFormat::kPiqa: return "piqa";
  }
  return "?";
}

McqFormat ParseMcqFormat(std::string_view name) {
  for (McqFormat f : {McqFormat::kCommonsenseQa, McqFormat::kOpenBookQa, McqFormat::kSocialIqa,
                      McqFormat::kPiqa}) {
    if (name == McqFormatName(f)) return f;
  }
  throw InvalidArgument(std::string("unknown question format '")
                            .append(name)
                            .append("' (expected ")
                            .append(FormatList())
                            .append(")"));
}

bool McqFormatHasLabelsFile(McqFormat format) {
  return format == McqFormat::kSocialIqa || format == McqFormat::kPiqa;
}

McqFormat DetectMcqFormatFromLine(std::string_view line, const std::string& where) {
  json j = ParseObject(line, where);
  if (auto q = j.find("question"); q != j.end()) {
    if (q->is_object() && q->contains("stem")) {
      return q->contains("question_concept") ? McqFormat::kCommonsenseQa : McqFormat::kOpenBookQa;
    }
    if (q->is_string() && j.contains("context") && j.contains("answerA")) return McqFormat::kSocialIqa;
  }
  if (j.contains("goal") && j.contains("sol1")) return McqFormat::kPiqa;
  std::string keys;
  for (auto it = j.begin(); it != j.end(); ++it) {  // nlohmann objects iterate sorted
    if (!keys.empty()) keys.append(", ");
    keys.append(it.key());
  }
  throw ParseError(where, std::string("cannot tell the question format from the keys [")
                              .append(keys)
                              .append("]; expected CommonsenseQA/OpenBookQA (question.stem), "
                                      "Social IQa (context, question, answerA-C) or PIQA "
                                      "(goal, sol1, sol2); name the format (")
                              .append(FormatList())
                              .append(") to read it anyway"));
}

McqFormat DetectMcqFormat(const std::string& jsonl_path) {
  LineReader reader(jsonl_path);
  std::string_view line;
  for (;;) {
    LineReader::Status s = reader.Next(&line);
    if (s == LineReader::Status::kEnd) break;
    std::string where = Where(jsonl_path, reader.line_number());
    if (s == LineReader::Status::kTooLong) throw ParseError(where, "line too long");
    if (!IsBlank(line)) return DetectMcqFormatFromLine(line, where);
  }
  throw InvalidArgument(
      std::string(jsonl_path).append(": no lines to tell the question format from (empty file)"));
}

std::vector<std::string> LabelsPathCandidates(const std::string& jsonl_path) {
  std::string stem = jsonl_path;
  auto strip = [&stem](std::string_view suffix) {
    if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0) {
      stem.resize(stem.size() - suffix.size());
    }
  };
  strip(".gz");
  strip(".jsonl");
  std::vector<std::string> out;
  for (const char* suffix : {"-labels.lst", "-labels.txt", "-labels.lst.gz", "-labels.txt.gz"}) {
    out.push_back(std::string(stem).append(suffix));
  }
  return out;
}

std::optional<std::string> DefaultLabelsPath(const std::string& jsonl_path) {
  for (std::string& candidate : LabelsPathCandidates(jsonl_path)) {
    if (Exists(candidate)) return candidate;
  }
  return std::nullopt;
}

McqSource ResolveMcqSource(const std::string& jsonl_path, const McqReadOptions& options) {
  if (!Exists(jsonl_path)) throw NotFound(std::string(jsonl_path).append(": no such file"));
  McqSource src;
  src.jsonl_path = jsonl_path;
  src.format = options.format ? *options.format : DetectMcqFormat(jsonl_path);
  if (!McqFormatHasLabelsFile(src.format)) {
    if (!options.labels_path.empty()) {
      throw InvalidArgument(std::string("labels file ")
                                .append(options.labels_path)
                                .append(" given for ")
                                .append(jsonl_path)
                                .append(", but ")
                                .append(McqFormatName(src.format))
                                .append(" carries its answers inline (answerKey)"));
    }
    return src;
  }
  if (!options.labels_path.empty()) {
    if (!Exists(options.labels_path)) {
      throw NotFound(std::string("labels file ").append(options.labels_path).append(" does not exist"));
    }
    src.labels_path = options.labels_path;
    return src;
  }
  if (std::optional<std::string> found = DefaultLabelsPath(jsonl_path)) {
    src.labels_path = *found;
  } else if (options.require_labels) {
    std::string tried;
    for (const std::string& c : LabelsPathCandidates(jsonl_path)) {
      if (!tried.empty()) tried.append(", ");
      tried.append(c);
    }
    throw NotFound(std::string(jsonl_path)
                       .append(": no labels file for this ")
                       .append(McqFormatName(src.format))
                       .append(" file (looked for ")
                       .append(tried)
                       .append("); name one, or read it as an unlabelled test set"));
  }
  return src;
}

McqItem ParseSocialIqaLine(std::string_view line, const std::string& where) {
  json j = ParseObject(line, where);
  McqItem item;
  std::string context = RequireNonEmpty(j, "context", where);
  std::string question = RequireNonEmpty(j, "question", where);
  item.stem = context.append(" ").append(question);
  item.choices = {{"A", RequireNonEmpty(j, "answerA", where)},
                  {"B", RequireNonEmpty(j, "answerB", where)},
                  {"C", RequireNonEmpty(j, "answerC", where)}};
  SetIdAndSource(j, where, &item);
  ValidateMcqItem(item, where);
  return item;
}

McqItem ParsePiqaLine(std::string_view line, const std::string& where) {
  json j = ParseObject(line, where);
  McqItem item;
  item.stem = RequireNonEmpty(j, "goal", where);
  item.choices = {{"A", RequireNonEmpty(j, "sol1", where)}, {"B", RequireNonEmpty(j, "sol2", where)}};
  SetIdAndSource(j, where, &item);
  ValidateMcqItem(item, where);
  return item;
}

std::string McqLabelToKey(McqFormat format, std::string_view label, const std::string& where) {
  if (!McqFormatHasLabelsFile(format)) {
    throw InvalidArgument(std::string(McqFormatName(format)).append(" has no labels file"));
  }
  std::string_view t = Trim(label);
  if (t.empty()) throw ParseError(where, "empty label");
  const LabelRange r = RangeOf(format);
  if (t.size() != 1 || t[0] < r.lo || t[0] > r.hi) {
    throw ParseError(where, std::string("label '")
                                .append(t)
                                .append("' is not one of ")
                                .append(1, r.lo)
                                .append("-")
                                .append(1, r.hi));
  }
  return std::string(1, static_cast<char>('A' + (t[0] - r.lo)));
}

std::vector<McqItem> ReadMcqFile(const std::string& jsonl_path, const McqReadOptions& options) {
  const McqSource src = ResolveMcqSource(jsonl_path, options);
  std::vector<McqItem> items;
  if (!McqFormatHasLabelsFile(src.format)) {
    ForEachLine(jsonl_path, [&](std::string_view line, const std::string& where) {
      items.push_back(ParseMcqLine(line, where));
    });
    return items;
  }

  const bool siqa = src.format == McqFormat::kSocialIqa;
  const uint64_t rows = ForEachLine(jsonl_path, [&](std::string_view line, const std::string& where) {
    items.push_back(siqa ? ParseSocialIqaLine(line, where) : ParsePiqaLine(line, where));
  });
  if (src.labels_path.empty()) return items;  // unlabelled test set, allowed by the options

  // Labels are checked after the count so that a misaligned file is reported as such,
  // not as whichever bad label the misalignment happens to expose first.
  std::vector<std::pair<std::string, std::string>> labels;  // (label, where)
  ForEachLine(src.labels_path, [&](std::string_view line, const std::string& where) {
    labels.emplace_back(std::string(line), where);
  });
  if (labels.size() != rows) {
    throw InvalidArgument(std::string(src.labels_path)
                              .append(" has ")
                              .append(WithCommas(labels.size()))
                              .append(labels.size() == 1 ? " line, " : " lines, ")
                              .append(jsonl_path)
                              .append(" ")
                              .append(WithCommas(rows)));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    // Always among the item's labels: siqa rows have A-C, piqa rows A-B.
    items[i].answer_key = McqLabelToKey(src.format, labels[i].first, labels[i].second);
  }
  return items;
}

}  // namespace spade::data
