#include "encoder/wordpiece.h"

#include <utf8proc.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "encoder/error.h"

namespace spade::encoder {
namespace {

using Codepoints = std::vector<int32_t>;

Codepoints Decode(std::string_view s) {
  Codepoints out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(s.size());
  while (left > 0) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n <= 0) {  // invalid byte: U+FFFD, skip one byte
      cp = 0xFFFD;
      n = 1;
    }
    out.push_back(cp);
    p += n;
    left -= n;
  }
  return out;
}

void Append(std::string* out, int32_t cp) {
  utf8proc_uint8_t buf[4];
  const utf8proc_ssize_t n = utf8proc_encode_char(cp, buf);
  out->append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

std::string ToUtf8(const Codepoints& cps) {
  std::string s;
  for (int32_t cp : cps) Append(&s, cp);
  return s;
}

// Normalises (NFC or NFD) a string without NULs.
std::string Normalize(const std::string& s, bool nfd) {
  utf8proc_uint8_t* out = nullptr;
  const int opts = UTF8PROC_STABLE | (nfd ? UTF8PROC_DECOMPOSE : UTF8PROC_COMPOSE);
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                          static_cast<utf8proc_ssize_t>(s.size()), &out,
                                          static_cast<utf8proc_option_t>(opts));
  if (n < 0) return s;  // cannot happen for valid UTF-8 we produced; keep the input
  std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return r;
}

bool IsWhitespace(int32_t cp) {
  if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
  return utf8proc_category(cp) == UTF8PROC_CATEGORY_ZS;
}

bool IsControl(int32_t cp) {
  if (cp == '\t' || cp == '\n' || cp == '\r') return false;
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
      return true;
    default:
      return false;
  }
}

bool IsPunctuation(int32_t cp) {
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    return true;
  }
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return true;
    default:
      return false;
  }
}

bool IsChineseChar(int32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
         (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

// Python's str.split() also breaks on these, which survive cleaning (categories Zl, Zp).
bool IsSplitSpace(int32_t cp) { return cp == ' ' || cp == 0x2028 || cp == 0x2029; }

std::vector<std::string> SplitWhitespace(const Codepoints& cps) {
  std::vector<std::string> out;
  std::string cur;
  for (int32_t cp : cps) {
    if (IsSplitSpace(cp)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      Append(&cur, cp);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, const WordPieceOptions& options)
    : vocab_(std::move(vocab)), options_(options) {
  if (vocab_.empty()) throw Error(ErrorCode::kInvalidArgument, "wordpiece: empty vocabulary");
  for (size_t i = 0; i < vocab_.size(); ++i) ids_[vocab_[i]] = static_cast<int32_t>(i);  // last duplicate wins
  auto it = ids_.find(options_.unk_token);
  if (it == ids_.end()) {
    throw Error(ErrorCode::kInvalidArgument, "wordpiece: unk token '" + options_.unk_token + "' not in vocabulary");
  }
  unk_id_ = it->second;
}

WordPieceTokenizer WordPieceTokenizer::FromVocabFile(const std::string& path, const WordPieceOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open vocabulary");
  std::vector<std::string> vocab;
  std::string line;
  while (std::getline(in, line)) vocab.push_back(line);  // rstrip("\n") only, like load_vocab
  try {
    return WordPieceTokenizer(std::move(vocab), options);
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what());
  }
}

WordPieceTokenizer WordPieceTokenizer::FromModelDir(const std::string& dir) {
  WordPieceOptions o;
  const std::string cfg = dir + "/tokenizer_config.json";
  if (std::filesystem::exists(cfg)) {
    std::ifstream in(cfg);
    std::stringstream ss;
    ss << in.rdbuf();
    try {
      const auto j = nlohmann::json::parse(ss.str());
      auto get_bool = [&](const char* k, bool* v) {
        if (j.contains(k) && j[k].is_boolean()) *v = j[k].get<bool>();
      };
      auto get_str = [&](const char* k, std::string* v) {
        if (j.contains(k) && j[k].is_string()) *v = j[k].get<std::string>();
      };
      get_bool("do_lower_case", &o.do_lower_case);
      get_bool("tokenize_chinese_chars", &o.tokenize_chinese_chars);
      if (j.contains("strip_accents") && j["strip_accents"].is_boolean()) o.strip_accents = j["strip_accents"].get<bool>();
      get_str("unk_token", &o.unk_token);
      get_str("cls_token", &o.cls_token);
      get_str("sep_token", &o.sep_token);
      get_str("pad_token", &o.pad_token);
      get_str("mask_token", &o.mask_token);
    } catch (const nlohmann::json::exception& e) {
      throw Error(ErrorCode::kCorruption, cfg + ": " + e.what());
    }
  }
  return FromVocabFile(dir + "/vocab.txt", o);
}

void WordPieceTokenizer::BasicTokenizeSegment(std::string_view text, std::vector<std::string>* out) const {
  Codepoints cleaned;
  for (int32_t cp : Decode(text)) {
    if (cp == 0 || cp == 0xFFFD || IsControl(cp)) continue;
    if (IsWhitespace(cp)) {
      cleaned.push_back(' ');
    } else if (options_.tokenize_chinese_chars && IsChineseChar(cp)) {
      cleaned.push_back(' ');
      cleaned.push_back(cp);
      cleaned.push_back(' ');
    } else {
      cleaned.push_back(cp);
    }
  }
  const Codepoints nfc = Decode(Normalize(ToUtf8(cleaned), /*nfd=*/false));
  const bool strip = options_.strip_accents.value_or(options_.do_lower_case);
  for (const std::string& word : SplitWhitespace(nfc)) {
    Codepoints cps = Decode(word);
    if (options_.do_lower_case) {
      for (int32_t& cp : cps) cp = utf8proc_tolower(cp);
    }
    if (strip) {
      Codepoints kept;
      for (int32_t cp : Decode(Normalize(ToUtf8(cps), /*nfd=*/true))) {
        if (utf8proc_category(cp) != UTF8PROC_CATEGORY_MN) kept.push_back(cp);
      }
      cps = std::move(kept);
    }
    std::string cur;
    for (int32_t cp : cps) {
      if (IsPunctuation(cp)) {
        if (!cur.empty()) out->push_back(std::move(cur));
        cur.clear();
        std::string p;
        Append(&p, cp);
        out->push_back(std::move(p));
      } else {
        Append(&cur, cp);
      }
    }
    if (!cur.empty()) out->push_back(std::move(cur));
  }
}

std::vector<std::string> WordPieceTokenizer::BasicTokenize(std::string_view text) const {
  // Special tokens written in the text stay whole (Hugging Face splits added tokens first).
  const std::string specials[] = {options_.unk_token, options_.cls_token, options_.sep_token, options_.pad_token,
                                  options_.mask_token};
  std::vector<std::string> out;
  size_t start = 0, pos = 0;
  while (pos < text.size()) {
    const std::string* hit = nullptr;
    if (text[pos] == '[') {
      for (const auto& s : specials) {
        if (!s.empty() && text.substr(pos, s.size()) == s) {
          hit = &s;
          break;
        }
      }
    }
    if (hit) {
      BasicTokenizeSegment(text.substr(start, pos - start), &out);
      out.push_back(*hit);
      pos += hit->size();
      start = pos;
    } else {
      ++pos;
    }
  }
  BasicTokenizeSegment(text.substr(start), &out);
  return out;
}

void WordPieceTokenizer::WordPiece(const std::string& word, std::vector<std::string>* out) const {
  const Codepoints cps = Decode(word);
  if (static_cast<int>(cps.size()) > options_.max_input_chars_per_word) {
    out->push_back(options_.unk_token);
    return;
  }
  // Byte offset of every code point, so substrings are byte slices.
  std::vector<size_t> off(cps.size() + 1, 0);
  {
    size_t b = 0;
    for (size_t i = 0; i < cps.size(); ++i) {
      off[i] = b;
      std::string tmp;
      Append(&tmp, cps[i]);
      b += tmp.size();
    }
    off[cps.size()] = b;
  }
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < cps.size()) {
    size_t end = cps.size();
    std::string found;
    while (start < end) {
      std::string sub = word.substr(off[start], off[end] - off[start]);
      if (start > 0) sub = "##" + sub;
      if (ids_.count(sub)) {
        found = std::move(sub);
        break;
      }
      --end;
    }
    if (found.empty()) {
      out->push_back(options_.unk_token);
      return;
    }
    pieces.push_back(std::move(found));
    start = end;
  }
  for (auto& p : pieces) out->push_back(std::move(p));
}

std::vector<std::string> WordPieceTokenizer::Tokenize(std::string_view text) const {
  std::vector<std::string> out;
  for (const std::string& w : BasicTokenize(text)) {
    if (ids_.count(w) && (w == options_.unk_token || w == options_.cls_token || w == options_.sep_token ||
                          w == options_.pad_token || w == options_.mask_token)) {
      out.push_back(w);
    } else {
      WordPiece(w, &out);
    }
  }
  return out;
}

std::vector<int32_t> WordPieceTokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  if (add_special_tokens) ids.push_back(TokenToId(options_.cls_token));
  for (const auto& t : Tokenize(text)) ids.push_back(TokenToId(t));
  if (add_special_tokens) ids.push_back(TokenToId(options_.sep_token));
  return ids;
}

int32_t WordPieceTokenizer::TokenToId(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? unk_id_ : it->second;
}

const std::string& WordPieceTokenizer::IdToToken(int32_t id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "wordpiece: id " + std::to_string(id) + " outside [0, " + std::to_string(vocab_size()) + ")");
  }
  return vocab_[static_cast<size_t>(id)];
}

}  // namespace spade::encoder
