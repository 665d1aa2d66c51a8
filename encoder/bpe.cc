#include "encoder/bpe.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <climits>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "encoder/error.h"
#include "encoder/pair_counts.h"
#include "encoder/safetensors.h"

namespace spade::encoder {
namespace {

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256 + n.
const std::array<int32_t, 256>& ByteToCodepoint() {
  static const std::array<int32_t, 256> table = [] {
    std::array<int32_t, 256> t{};
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[static_cast<size_t>(b)] = printable ? b : 256 + n++;
    }
    return t;
  }();
  return table;
}

std::string Utf8(int32_t cp) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(cp, buf);
  return std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
}

// Byte-maps raw bytes; returns one UTF-8 string per byte.
std::vector<std::string> MapBytes(std::string_view raw) {
  std::vector<std::string> out;
  out.reserve(raw.size());
  for (unsigned char c : raw) out.push_back(Utf8(ByteToCodepoint()[c]));
  return out;
}

bool IsLetter(int32_t cp) {
  switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return true;
    default:
      return false;
  }
}

bool IsNumber(int32_t cp) {
  const auto c = utf8proc_category(cp);
  return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool IsSpace(int32_t cp) {  // Unicode White_Space, as the regex module's \s
  return (cp >= 9 && cp <= 13) || cp == 32 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

}  // namespace

std::vector<std::string> ByteLevelBpe::PreTokenize(std::string_view text) {
  // Decode to code points with their byte offsets; invalid bytes count as "other".
  std::vector<int32_t> cps;
  std::vector<size_t> off;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    utf8proc_int32_t cp;
    auto n = utf8proc_iterate(p + pos, static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (n <= 0) {
      cp = -1;
      n = 1;
    }
    cps.push_back(cp);
    off.push_back(pos);
    pos += static_cast<size_t>(n);
  }
  off.push_back(text.size());
  const size_t n = cps.size();
  auto other = [&](size_t k) { return cps[k] < 0 || (!IsSpace(cps[k]) && !IsLetter(cps[k]) && !IsNumber(cps[k])); };
  std::vector<std::string> out;
  size_t i = 0;
  auto emit = [&](size_t end) {
    out.emplace_back(text.substr(off[i], off[end] - off[i]));
    i = end;
  };
  while (i < n) {
    // 's 't 're 've 'm 'll 'd
    if (cps[i] == '\'' && i + 1 < n) {
      const int32_t a = cps[i + 1], b = i + 2 < n ? cps[i + 2] : 0;
      if (a == 's' || a == 't' || a == 'm' || a == 'd') {
        emit(i + 2);
        continue;
      }
      if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
        emit(i + 3);
        continue;
      }
    }
    const size_t j = cps[i] == ' ' ? i + 1 : i;
    if (j < n && cps[j] >= 0 && IsLetter(cps[j])) {
      size_t k = j;
      while (k < n && cps[k] >= 0 && IsLetter(cps[k])) ++k;
      emit(k);
      continue;
    }
    if (j < n && cps[j] >= 0 && IsNumber(cps[j])) {
      size_t k = j;
      while (k < n && cps[k] >= 0 && IsNumber(cps[k])) ++k;
      emit(k);
      continue;
    }
    if (j < n && other(j)) {
      size_t k = j;
      while (k < n && other(k)) ++k;
      emit(k);
      continue;
    }
    // Whitespace: \s+(?!\S) leaves the last space of a run for the next word; else \s+.
    size_t k = i;
    while (k < n && cps[k] >= 0 && IsSpace(cps[k])) ++k;
    if (k == n || k - i == 1) {
      emit(k == n ? n : i + 1);
    } else {
      emit(k - 1);
    }
  }
  return out;
}

ByteLevelBpe::ByteLevelBpe(std::unordered_map<std::string, int32_t> vocab,
                           std::vector<std::pair<std::string, std::string>> merges)
    : vocab_(std::move(vocab)), merges_(std::move(merges)) {
  int32_t max_id = -1;
  for (const auto& [t, id] : vocab_) {
    if (id < 0) throw Error(ErrorCode::kCorruption, "vocab.json: negative id for '" + t + "'");
    max_id = std::max(max_id, id);
  }
  id_to_token_.assign(static_cast<size_t>(max_id + 1), "");
  for (const auto& [t, id] : vocab_) id_to_token_[static_cast<size_t>(id)] = t;
  for (size_t r = 0; r < merges_.size(); ++r) ranks_.emplace(merges_[r], static_cast<int>(r));
}

ByteLevelBpe ByteLevelBpe::FromFiles(const std::string& vocab_json, const std::string& merges_txt) {
  std::ifstream vin(vocab_json);
  if (!vin) throw Error(ErrorCode::kNotFound, vocab_json + ": cannot open");
  std::unordered_map<std::string, int32_t> vocab;
  try {
    const auto j = nlohmann::json::parse(vin);
    for (auto it = j.begin(); it != j.end(); ++it) vocab[it.key()] = it.value().get<int32_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::kCorruption, vocab_json + ": " + e.what());
  }
  std::ifstream min(merges_txt);
  if (!min) throw Error(ErrorCode::kNotFound, merges_txt + ": cannot open");
  std::vector<std::pair<std::string, std::string>> merges;
  std::string line;
  int lineno = 0;
  while (std::getline(min, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (lineno == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t sp = line.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == line.size() || line.find(' ', sp + 1) != std::string::npos) {
      throw Error(ErrorCode::kCorruption, merges_txt + ":" + std::to_string(lineno) + ": expected two tokens");
    }
    merges.emplace_back(line.substr(0, sp), line.substr(sp + 1));
  }
  return ByteLevelBpe(std::move(vocab), std::move(merges));
}

ByteLevelBpe ByteLevelBpe::FromModelDir(const std::string& dir) {
  return FromFiles(dir + "/vocab.json", dir + "/merges.txt");
}

void ByteLevelBpe::Bpe(const std::string& word, std::vector<std::string>* out) const {
  std::vector<std::string> parts = MapBytes(word);
  while (parts.size() > 1) {
    int best = INT_MAX;
    size_t at = 0;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = ranks_.find({parts[i], parts[i + 1]});
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        at = i;
      }
    }
    if (best == INT_MAX) break;
    const std::string a = parts[at], b = parts[at + 1];
    std::vector<std::string> merged;
    merged.reserve(parts.size());
    for (size_t i = 0; i < parts.size();) {
      if (i + 1 < parts.size() && parts[i] == a && parts[i + 1] == b) {
        merged.push_back(a + b);
        i += 2;
      } else {
        merged.push_back(parts[i]);
        ++i;
      }
    }
    parts = std::move(merged);
  }
  for (auto& p : parts) out->push_back(std::move(p));
}

std::vector<std::string> ByteLevelBpe::Tokenize(std::string_view text) const {
  std::vector<std::string> out;
  for (const auto& w : PreTokenize(text)) Bpe(w, &out);
  return out;
}

std::vector<int32_t> ByteLevelBpe::Encode(std::string_view text) const {
  std::vector<int32_t> ids;
  for (const auto& t : Tokenize(text)) {
    auto it = vocab_.find(t);
    if (it == vocab_.end()) {
      throw Error(ErrorCode::kInvalidArgument, "byte-level BPE: token '" + t + "' missing from vocab.json");
    }
    ids.push_back(it->second);
  }
  return ids;
}

std::string ByteLevelBpe::Decode(const std::vector<int32_t>& ids) const {
  static const std::unordered_map<int32_t, unsigned char> inverse = [] {
    std::unordered_map<int32_t, unsigned char> m;
    for (int b = 0; b < 256; ++b) m[ByteToCodepoint()[static_cast<size_t>(b)]] = static_cast<unsigned char>(b);
    return m;
  }();
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || id_to_token_[static_cast<size_t>(id)].empty()) {
      throw Error(ErrorCode::kInvalidArgument, "byte-level BPE: unknown id " + std::to_string(id));
    }
    const std::string& t = id_to_token_[static_cast<size_t>(id)];
    const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(t.data());
    size_t pos = 0;
    bool mapped = true;
    std::string bytes;
    while (pos < t.size()) {
      utf8proc_int32_t cp;
      const auto n = utf8proc_iterate(p + pos, static_cast<utf8proc_ssize_t>(t.size() - pos), &cp);
      auto it = n > 0 ? inverse.find(cp) : inverse.end();
      if (it == inverse.end()) {
        mapped = false;
        break;
      }
      bytes.push_back(static_cast<char>(it->second));
      pos += static_cast<size_t>(n);
    }
    out += mapped ? bytes : t;  // special tokens (<|endoftext|>) are not byte-mapped
  }
  return out;
}

int32_t ByteLevelBpe::TokenToId(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? -1 : it->second;
}

ByteLevelBpe ByteLevelBpe::Train(const std::vector<std::string>& texts, const BpeTrainOptions& o) {
  // Word counts over pre-tokenised, byte-mapped pieces.
  std::map<std::string, int64_t> counts;
  for (const auto& t : texts) {
    for (const auto& w : PreTokenize(t)) ++counts[w];
  }
  std::vector<std::pair<std::vector<std::string>, int64_t>> words;
  for (const auto& [w, c] : counts) words.emplace_back(MapBytes(w), c);
  std::unordered_map<std::string, int32_t> vocab;
  for (int b = 0; b < 256; ++b) vocab[Utf8(ByteToCodepoint()[static_cast<size_t>(b)])] = b;
  std::vector<std::pair<std::string, std::string>> merges;
  const int target = o.vocab_size - static_cast<int>(o.special_tokens.size());
  while (static_cast<int>(vocab.size()) < target) {
    SymbolPair pr;
    int64_t best_count = 0;
    if (!MostFrequentPair(words, &pr, &best_count) || best_count < o.min_frequency) break;
    merges.push_back(pr);
    vocab.emplace(pr.first + pr.second, static_cast<int32_t>(vocab.size()));
    for (auto& [parts, c] : words) {
      std::vector<std::string> merged;
      for (size_t i = 0; i < parts.size();) {
        if (i + 1 < parts.size() && parts[i] == pr.first && parts[i + 1] == pr.second) {
          merged.push_back(pr.first + pr.second);
          i += 2;
        } else {
          merged.push_back(parts[i++]);
        }
      }
      parts = std::move(merged);
    }
  }
  for (const auto& s : o.special_tokens) vocab.emplace(s, static_cast<int32_t>(vocab.size()));
  return ByteLevelBpe(std::move(vocab), std::move(merges));
}

void ByteLevelBpe::Save(const std::string& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(ErrorCode::kIOError, dir + ": cannot create directory: " + ec.message());
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    if (!id_to_token_[id].empty()) j[id_to_token_[id]] = id;
  }
  WriteFileAtomic(dir + "/vocab.json", j.dump() + "\n");
  std::string merges = "#version: 0.2\n";
  for (const auto& [a, b] : merges_) merges += a + " " + b + "\n";
  WriteFileAtomic(dir + "/merges.txt", merges);
}

}  // namespace spade::encoder
