// The dictionary readers: WordNet 3.0 glosses and GCIDE definitions.
#include <cctype>
#include <charconv>
#include <cstring>
#include <filesystem>

#include "data/corpus/reader.h"
#include "data/corpus/text.h"
#include "data/error.h"
#include "data/line_reader.h"

namespace spade::data::corpus {
namespace {

bool IsBlank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }
bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

std::string WithFinalStop(std::string s) {
  while (!s.empty() && (s.back() == ';' || s.back() == ',' || s.back() == ':' || s.back() == ' ')) s.pop_back();
  if (!s.empty() && (std::isalnum(static_cast<unsigned char>(s.back())) || s.back() == ')')) s.push_back('.');
  return s;
}

// ---------------------------------------------------------------------------------------
// WordNet: `offset lex_filenum ss_type w_cnt word lex_id ... p_cnt ... | gloss`

struct Synset {
  std::vector<std::string> lemmas;
  std::string gloss;
};

bool ParseSynsetLine(std::string_view line, Synset* s, std::string* reason) {
  size_t bar = line.find(" | ");
  if (bar == std::string_view::npos) {
    *reason = "no gloss (expected ' | ')";
    return false;
  }
  s->gloss = Trim(line.substr(bar + 3));
  std::string_view head = line.substr(0, bar);
  std::vector<std::string_view> t;
  for (size_t i = 0; i < head.size();) {
    size_t j = head.find(' ', i);
    if (j == std::string_view::npos) j = head.size();
    if (j > i) t.push_back(head.substr(i, j - i));
    i = j + 1;
  }
  unsigned w_cnt = 0;
  if (t.size() < 4 || t[0].size() != 8 ||
      std::from_chars(t[3].data(), t[3].data() + t[3].size(), w_cnt, 16).ec != std::errc() || w_cnt == 0) {
    *reason = "bad synset offset or word count";
    return false;
  }
  if (t.size() < 4 + 2 * static_cast<size_t>(w_cnt)) {
    *reason = "synset line ends early";
    return false;
  }
  for (unsigned i = 0; i < w_cnt; ++i) {
    std::string w(t[4 + 2 * i]);
    if (size_t paren = w.find('('); paren != std::string::npos) w.resize(paren);  // adjective markers (a) (p) (ip)
    for (char& c : w) {
      if (c == '_') c = ' ';
    }
    if (!w.empty()) s->lemmas.push_back(std::move(w));
  }
  if (s->lemmas.empty()) {
    *reason = "synset without lemmas";
    return false;
  }
  return true;
}

// "a hand tool ...; consists of ...; \"shovel sand\"" -> definition parts and examples.
void SplitGloss(const std::string& gloss, std::vector<std::string>* definitions, std::vector<std::string>* examples) {
  std::vector<std::string> parts;
  std::string cur;
  bool quoted = false;
  for (char c : gloss) {
    if (c == '"') quoted = !quoted;
    if (c == ';' && !quoted) {
      parts.push_back(Trim(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  parts.push_back(Trim(cur));
  for (std::string& p : parts) {
    if (p.empty()) continue;
    if (p.front() == '"') {
      size_t close = p.rfind('"');
      std::string ex = close > 0 ? p.substr(1, close - 1) : p.substr(1);
      ex = CleanWhitespace(ex);
      if (!ex.empty()) {
        if (ex[0] >= 'a' && ex[0] <= 'z') ex[0] = static_cast<char>(ex[0] - 32);
        examples->push_back(WithFinalStop(ex));
      }
    } else {
      definitions->push_back(CleanWhitespace(p));
    }
  }
}

}  // namespace

void ReadWordNet(const std::string& dir, ReadContext& ctx) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) throw NotFound(dir + ": not a WordNet directory");
  for (const char* pos : {"noun", "verb", "adj", "adv"}) {
    const std::string path = dir + "/data." + pos;
    LineReader reader(path);
    std::string_view line;
    for (;;) {
      LineReader::Status st = reader.Next(&line);
      if (st == LineReader::Status::kEnd) break;
      std::string where = path + ":" + std::to_string(reader.line_number());
      if (st == LineReader::Status::kTooLong) {
        ctx.BadLine(where, "line too long");
        continue;
      }
      if (line.starts_with("  ") || IsBlank(line)) continue;  // the licence header
      if (!ctx.CheckUtf8(line, where)) continue;
      Synset s;
      std::string reason;
      if (!ParseSynsetLine(line, &s, &reason)) {
        ctx.BadLine(where, reason);
        continue;
      }
      std::vector<std::string> defs, examples;
      SplitGloss(s.gloss, &defs, &examples);
      Document doc;
      if (!defs.empty()) {
        doc.sentences.push_back(WithFinalStop(Join(s.lemmas, ", ") + ": " + Join(defs, "; ")));
      }
      for (std::string& e : examples) doc.sentences.push_back(std::move(e));
      ctx.Emit(std::move(doc));
      if (reader.line_number() % 8192 == 0 && ctx.on_progress)
        ctx.on_progress(reader.file_offset(), reader.file_size());
    }
  }
}

// ---------------------------------------------------------------------------------------
// GCIDE (dictd text): an entry starts at column 0 after a blank line with
// "Headword \Pro*nun"ci*a`tion\, pos. [etymology]"; its senses follow, indented:
//
//   Shovel \Shov"el\, n. [OE. shovele, ...]
//      An implement consisting of a broad scoop, ... loose substances.
//      [1913 Webster]
//
//      {Steam shovel}, a machine with a scoop ..., for excavating earth.
//
// Removed: the header (headword, pronunciation, part of speech, etymology), [source tags]
// and other bracketed notes, \pronunciations\, quotations (paragraphs indented 8+ columns,
// lines indented 10+), `--Author.` citations, "Syn:" lists, derived-form tails
// ("-- {Un*wor"thi*ly}, adv."), sense numbers and leading domain labels ("(Zool.)").
// Accent codes ("caf['e]", "m[=o]") become their base letters; {braces} are unwrapped.

namespace {

bool LooksLikeEntryStart(std::string_view line) {
  if (line.empty() || std::isspace(static_cast<unsigned char>(line[0]))) return false;
  char c = line[0];
  if (c == '[' || c == '{' || c == '-' || c == '\\') return false;
  return line.find(" \\") != std::string_view::npos;
}

// [=e] [^u] ['e] [ae] [imac] [a^] ... -> base letters; nullopt-like empty when not an accent code.
std::string AccentLetters(std::string_view code) {
  static const char* kMarks = "=^'\"~.`,-:";
  std::string letters;
  for (char c : code) {
    if (IsAlpha(c)) {
      letters.push_back(c);
    } else if (!std::strchr(kMarks, c)) {
      return "";
    }
  }
  for (std::string_view suffix : {"mac", "acute", "grave", "uml", "cir", "til", "ced", "breve", "dot"}) {
    if (letters.size() == suffix.size() + 1 && std::string_view(letters).substr(1) == suffix)
      return letters.substr(0, 1);
  }
  if (letters.empty() || letters.size() > 2) return "";
  return letters;
}

std::string ReplaceAccentCodes(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '[') {
      size_t close = s.find(']', i + 1);
      if (close != std::string::npos && close - i <= 8) {
        std::string_view code(s.data() + i + 1, close - i - 1);
        bool letter_before = i > 0 && IsAlpha(s[i - 1]);
        bool letter_after = close + 1 < s.size() && IsAlpha(s[close + 1]);
        std::string letters = AccentLetters(code);
        if (!letters.empty() && (letter_before || letter_after)) {
          out += letters;
          i = close;
          continue;
        }
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

// Drops text between `open` and `close` (nested, for brackets) or between pairs of `open`
// when open == close (backslash-delimited pronunciations). An unmatched opener is dropped alone.
std::string RemoveDelimited(const std::string& s, char open, char close) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != open) {
      out.push_back(s[i]);
      continue;
    }
    size_t j = i + 1;
    int depth = 1;
    for (; j < s.size() && depth > 0; ++j) {
      if (open != close && s[j] == open)
        ++depth;
      else if (s[j] == close)
        --depth;
    }
    if (depth == 0) i = j - 1;  // skip the whole group
  }
  return out;
}

std::string StripLeadingMarkers(std::string s) {
  for (bool changed = true; changed;) {
    changed = false;
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == ';' || s[i] == '.' || s[i] == ':')) ++i;
    if (i > 0) {
      s.erase(0, i);
      changed = true;
    }
    // "12. " sense numbers
    size_t d = 0;
    while (d < s.size() && std::isdigit(static_cast<unsigned char>(s[d]))) ++d;
    if (d > 0 && d + 1 < s.size() && s[d] == '.' && s[d + 1] == ' ') {
      s.erase(0, d + 2);
      changed = true;
      continue;
    }
    // "(a) " sub-senses and "(Zool.)" / "(Civil Engin.)" domain labels
    if (!s.empty() && s[0] == '(') {
      size_t close = s.find(')');
      if (close != std::string::npos && close <= 40) {
        std::string_view inner(s.data() + 1, close - 1);
        bool sub_sense = inner.size() == 1 && std::islower(static_cast<unsigned char>(inner[0]));
        bool label = !inner.empty() && std::isupper(static_cast<unsigned char>(inner[0])) && inner.back() == '.';
        if (sub_sense || label) {
          s.erase(0, close + 1);
          changed = true;
        }
      }
    }
  }
  return s;
}

std::string TidyPunctuation(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if ((c == ',' || c == ';' || c == '.' || c == ':' || c == ')') && !out.empty() && out.back() == ' ') out.pop_back();
    if ((c == ',' || c == ';') && !out.empty() && (out.back() == ',' || out.back() == ';' || out.back() == '('))
      continue;
    if (c == ' ' && !out.empty() && out.back() == '(') continue;
    if (c == ')' && !out.empty() && out.back() == '(') {
      out.pop_back();
      continue;
    }
    out.push_back(c);
  }
  return CleanWhitespace(out);
}

// Cleans one paragraph's joined text into definition prose.
std::string CleanGcideText(std::string s) {
  s = ReplaceAccentCodes(s);
  s = RemoveDelimited(s, '\\', '\\');
  s = RemoveDelimited(s, '[', ']');
  // Derived-form tails: " -- {Un*wor"thi*ly}, adv. -- {...}, n."
  for (size_t pos = s.find("-- {"); pos != std::string::npos; pos = s.find("-- {", pos + 1)) {
    if (pos == 0 || s[pos - 1] == ' ') {
      s.resize(pos);
      break;
    }
  }
  // Citations "--Shak." end a definition.
  for (size_t pos = s.find("--"); pos != std::string::npos; pos = s.find("--", pos + 2)) {
    if (pos + 2 < s.size() && std::isupper(static_cast<unsigned char>(s[pos + 2])) && (pos == 0 || s[pos - 1] == ' ')) {
      s.resize(pos);
      break;
    }
  }
  std::string out;
  out.reserve(s.size());
  bool in_brace = false;
  for (char c : s) {
    if (c == '{' || c == '}') {
      in_brace = c == '{';
      continue;
    }
    if (in_brace && (c == '*' || c == '"' || c == '`')) continue;
    out.push_back(c);
  }
  return TidyPunctuation(StripLeadingMarkers(CleanWhitespace(out)));
}

size_t Indent(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] == ' ') ++i;
  return i;
}

}  // namespace

std::vector<std::string> GcideDefinitions(const std::vector<std::string>& lines, std::string* headword) {
  std::vector<std::string> out;
  headword->clear();
  if (lines.empty()) return out;
  *headword = Trim(lines[0].substr(0, lines[0].find(" \\")));
  // The header runs until brackets, parentheses and the \pronunciation\ close at a line end.
  size_t header_end = 1;
  {
    int depth = 0;
    bool in_pron = false;
    size_t i = 0;
    for (; i < lines.size() && i < 8; ++i) {
      for (char c : lines[i]) {
        if (c == '\\')
          in_pron = !in_pron;
        else if (!in_pron && (c == '[' || c == '('))
          ++depth;
        else if (!in_pron && (c == ']' || c == ')'))
          depth = depth > 0 ? depth - 1 : 0;
      }
      if (depth == 0 && !in_pron) break;
    }
    header_end = i < lines.size() && i < 8 ? i + 1 : 1;
  }
  // Paragraphs of the body.
  std::vector<std::vector<std::string_view>> paragraphs(1);
  for (size_t i = header_end; i < lines.size(); ++i) {
    if (IsBlank(lines[i])) {
      if (!paragraphs.back().empty()) paragraphs.emplace_back();
    } else {
      paragraphs.back().push_back(lines[i]);
    }
  }
  for (const auto& para : paragraphs) {
    if (para.empty() || Indent(para[0]) >= 8) continue;  // a quotation
    std::string joined;
    for (std::string_view l : para) {
      if (!joined.empty()) joined.push_back(' ');
      joined += Trim(l);
    }
    if (joined.starts_with("Syn:") || joined.starts_with("Syn.")) continue;
    bool note = joined.starts_with("Note:");
    if (note) joined.erase(0, 5);
    bool subentry = joined.starts_with("{");
    std::string text = CleanGcideText(joined);
    bool first = !note && !subentry;
    for (std::string& sentence : SplitSentences(text)) {
      sentence = WithFinalStop(sentence);
      if (CountWords(sentence) < 3) continue;
      if (first) {
        sentence = *headword + ": " + sentence;
        first = false;
      }
      out.push_back(std::move(sentence));
    }
  }
  return out;
}

void ReadGcide(const std::string& path, ReadContext& ctx) {
  LineReader reader(path);
  std::vector<std::string> entry;
  Document doc;
  std::string doc_headword;
  auto flush_entry = [&] {
    if (entry.empty()) return;
    std::string headword;
    std::vector<std::string> defs = GcideDefinitions(entry, &headword);
    entry.clear();
    if (headword != doc_headword) {
      ctx.Emit(std::move(doc));
      doc = Document();
      doc_headword = headword;
    }
    for (std::string& d : defs) doc.sentences.push_back(std::move(d));
  };
  std::string_view line;
  bool prev_blank = true;
  for (;;) {
    LineReader::Status st = reader.Next(&line);
    if (st == LineReader::Status::kEnd) break;
    std::string where = path + ":" + std::to_string(reader.line_number());
    if (reader.line_number() % 8192 == 0 && ctx.on_progress) ctx.on_progress(reader.file_offset(), reader.file_size());
    if (st == LineReader::Status::kTooLong) {
      ctx.BadLine(where, "line too long");
      continue;
    }
    if (!ctx.CheckUtf8(line, where)) continue;
    if (prev_blank && LooksLikeEntryStart(line)) {
      flush_entry();
      entry.emplace_back(line);
    } else if (!entry.empty()) {
      entry.emplace_back(line);  // before the first entry: the database's own header, skipped
    }
    prev_blank = IsBlank(line);
  }
  flush_entry();
  ctx.Emit(std::move(doc));
  if (ctx.on_progress) ctx.on_progress(reader.file_size(), reader.file_size());
}

}  // namespace spade::data::corpus
