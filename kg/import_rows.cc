// Row parsers for the text formats, and format detection.
#include <charconv>
#include <cmath>
#include <filesystem>

#include "data/error.h"
#include "data/line_reader.h"
#include "kg/import.h"
#include "kg/normalize.h"
#include "kg/relations.h"

namespace spade::kg {
namespace {

// Splits on '\t' into at most `max` fields; returns the count found (max+1 = too many).
size_t SplitTabs(std::string_view line, std::string_view* fields, size_t max) {
  size_t n = 0;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    if (n == max) return max + 1;
    fields[n++] = line.substr(start, tab == std::string_view::npos ? line.npos : tab - start);
    if (tab == std::string_view::npos) return n;
    start = tab + 1;
  }
}

bool ParseWeight(std::string_view text, float* out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(v)) return false;
  if (std::fabs(v) > 3.0e38) return false;
  *out = static_cast<float>(v);
  return true;
}

// Normalises a concept field; sets *reason and returns false when nothing is left.
bool Concept(std::string_view field, const char* what, std::string* out, std::string* reason) {
  *out = NormalizeConcept(field);
  if (out->empty()) {
    *reason = std::string("empty ") + what;
    return false;
  }
  return true;
}

RowResult Finish(RawAssertion* out) {
  if (out->head == out->tail) return RowResult::kSkipped;  // self loops carry no path evidence
  if (out->weight < 0) {
    out->negated = true;
    out->weight = -out->weight;
  }
  return RowResult::kAssertion;
}

bool IsBlank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// "/c/en/dog/n/wn/animal" -> language "en", text "dog".
bool SplitConceptUri(std::string_view uri, std::string_view* lang, std::string_view* text) {
  if (!uri.starts_with("/c/")) return false;
  uri.remove_prefix(3);
  size_t slash = uri.find('/');
  if (slash == std::string_view::npos || slash == 0) return false;
  *lang = uri.substr(0, slash);
  uri.remove_prefix(slash + 1);
  *text = uri.substr(0, uri.find('/'));
  return !text->empty();
}

}  // namespace

RowResult ParseConceptNet5Row(std::string_view line, const RowOptions& options, RawAssertion* out,
                              std::string* reason) {
  if (IsBlank(line)) return RowResult::kIgnored;
  std::string_view f[5];
  size_t n = SplitTabs(line, f, 5);
  if (n != 5) {
    *reason = "expected 5 tab-separated columns (uri, relation, start, end, json), got " +
              (n > 5 ? std::string("more") : std::to_string(n));
    return RowResult::kError;
  }
  const char* names[] = {"uri", "relation", "start", "end", "json"};
  for (int i = 0; i < 5; ++i) {
    if (f[i].empty()) {
      *reason = std::string("empty field '") + names[i] + "'";
      return RowResult::kError;
    }
  }
  std::string_view lang[2], text[2];
  for (int i = 0; i < 2; ++i) {
    if (!SplitConceptUri(f[2 + i], &lang[i], &text[i])) {
      *reason = std::string("field '") + names[2 + i] + "' is not a concept URI /c/LANG/TEXT: '" +
                std::string(f[2 + i]) + "'";
      return RowResult::kError;
    }
  }
  // Most rows of the real dump are in other languages: leave them before the costly checks.
  for (int i = 0; i < 2; ++i) {
    if (!options.languages.empty() && !options.languages.count(std::string(lang[i]))) {
      return RowResult::kSkipped;
    }
  }
  if (!IsValidUtf8(line)) {
    *reason = "invalid UTF-8";
    return RowResult::kError;
  }
  if (!f[1].starts_with("/r/")) {
    *reason = "relation '" + std::string(f[1]) + "' does not start with /r/";
    return RowResult::kError;
  }
  std::optional<std::string> rel = CanonicalRelation(f[1]);
  if (!rel) {
    *reason = "bad relation '" + std::string(f[1]) + "'";
    return RowResult::kError;
  }
  if (rel->starts_with("ExternalURL")) return RowResult::kSkipped;
  std::string_view json = f[4];
  if (json.front() != '{' || json.back() != '}') {
    *reason = "json column is not a JSON object";
    return RowResult::kError;
  }
  // The edge weight is the top-level "weight" key, which ConceptNet writes last; nested
  // objects never carry one, and quotes inside strings are escaped, so the last
  // occurrence of the key is the right one without parsing the whole object.
  size_t w = json.rfind("\"weight\":");
  if (w == std::string_view::npos) {
    *reason = "json column has no \"weight\"";
    return RowResult::kError;
  }
  std::string_view num = json.substr(w + 9);
  size_t end = num.find_first_of(",}");
  if (!ParseWeight(num.substr(0, end), &out->weight)) {
    *reason = "json \"weight\" is not a number";
    return RowResult::kError;
  }
  out->relation = std::move(*rel);
  out->negated = false;
  for (int i = 0; i < 2; ++i) {
    std::string* dst = i == 0 ? &out->head : &out->tail;
    if (!Concept(text[i], names[2 + i], dst, reason)) return RowResult::kError;
    if (lang[i] != "en") *dst = std::string(lang[i]) + ":" + *dst;
  }
  return Finish(out);
}

namespace {

RowResult ParseThreeOrFour(std::string_view line, int rel_col, RawAssertion* out, std::string* reason) {
  if (IsBlank(line) || line.front() == '#') return RowResult::kIgnored;
  if (!IsValidUtf8(line)) {
    *reason = "invalid UTF-8";
    return RowResult::kError;
  }
  std::string_view f[4];
  size_t n = SplitTabs(line, f, 4);
  if (n < 3 || n > 4) {
    *reason = "expected 3 or 4 tab-separated columns, got " + (n > 4 ? std::string("more") : std::to_string(n));
    return RowResult::kError;
  }
  const int head_col = rel_col == 0 ? 1 : 0;
  const char* names[4] = {};
  names[rel_col] = "relation";
  names[head_col] = "head";
  names[2] = "tail";
  names[3] = "weight";
  for (size_t i = 0; i < n; ++i) {
    if (f[i].find_first_not_of(' ') == std::string_view::npos) {
      *reason = std::string("empty field '") + names[i] + "'";
      return RowResult::kError;
    }
  }
  std::optional<std::string> rel = CanonicalRelation(f[rel_col]);
  if (!rel) {
    *reason = "bad relation '" + std::string(f[rel_col]) + "'";
    return RowResult::kError;
  }
  out->relation = std::move(*rel);
  out->weight = 1.0f;
  out->negated = false;
  if (n == 4 && !ParseWeight(f[3], &out->weight)) {
    *reason = "weight '" + std::string(f[3]) + "' is not a number";
    return RowResult::kError;
  }
  if (!Concept(f[head_col], "head", &out->head, reason)) return RowResult::kError;
  if (!Concept(f[2], "tail", &out->tail, reason)) return RowResult::kError;
  return Finish(out);
}

}  // namespace

RowResult ParseRelHeadTailRow(std::string_view line, RawAssertion* out, std::string* reason) {
  return ParseThreeOrFour(line, /*rel_col=*/0, out, reason);
}

RowResult ParseTsvRow(std::string_view line, RawAssertion* out, std::string* reason) {
  return ParseThreeOrFour(line, /*rel_col=*/1, out, reason);
}

InputFormat ParseInputFormat(std::string_view name) {
  if (name == "auto") return InputFormat::kAuto;
  if (name == "conceptnet5") return InputFormat::kConceptNet5;
  if (name == "conceptnet100k" || name == "kagnet") return InputFormat::kConceptNet100k;
  if (name == "conceptnet4") return InputFormat::kConceptNet4;
  if (name == "tsv") return InputFormat::kTsv;
  if (name == "wordnet") return InputFormat::kWordNet;
  throw InvalidArgument("unknown input format '" + std::string(name) +
                        "' (expected auto, conceptnet5, conceptnet100k, kagnet, conceptnet4, tsv, wordnet)");
}

std::string FormatName(InputFormat format) {
  switch (format) {
    case InputFormat::kAuto: return "auto";
    case InputFormat::kConceptNet5: return "conceptnet5";
    case InputFormat::kConceptNet100k: return "conceptnet100k";
    case InputFormat::kConceptNet4: return "conceptnet4";
    case InputFormat::kTsv: return "tsv";
    case InputFormat::kWordNet: return "wordnet";
  }
  return "?";
}

InputFormat DetectFormat(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(fs::path(path) / "data.noun", ec)) return InputFormat::kWordNet;
    throw InvalidArgument(path + ": is a directory but not a WordNet database (no data.noun)");
  }
  LineReader reader(path);
  std::string_view line;
  int looked = 0;
  while (looked < 50) {
    LineReader::Status s = reader.Next(&line);
    if (s == LineReader::Status::kEnd) break;
    if (s == LineReader::Status::kTooLong) continue;
    if (reader.line_number() == 1 && line.starts_with("#relation")) return InputFormat::kConceptNet4;
    if (IsBlank(line) || line.front() == '#') continue;
    ++looked;
    std::string_view f[5];
    size_t n = SplitTabs(line, f, 5);
    if (n == 5 && f[1].starts_with("/r/") && f[2].starts_with("/c/")) return InputFormat::kConceptNet5;
    if (n == 3 || n == 4) {
      if (IsKnownRelation(f[0])) return InputFormat::kConceptNet100k;
      if (IsKnownRelation(f[1])) return InputFormat::kTsv;
    }
  }
  throw InvalidArgument(path + ": cannot detect the input format from its first rows; pass --format "
                        "(conceptnet5, conceptnet100k, conceptnet4, tsv, wordnet)");
}

}  // namespace spade::kg
