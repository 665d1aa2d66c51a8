#include "data/corpus/text.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_set>

namespace spade::data::corpus {
namespace {

bool IsAsciiAlnum(unsigned char c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }
bool IsUpper(unsigned char c) { return c >= 'A' && c <= 'Z'; }

// Length in bytes of a Unicode space character at s[i] (beyond ASCII), 0 if none.
size_t UnicodeSpaceAt(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  if (at(0) == 0xC2 && at(1) == 0xA0) return 2;  // U+00A0
  if (at(0) == 0xE2 && at(1) == 0x80 && (at(2) <= 0x8A || at(2) == 0xAF) && at(2) >= 0x80)
    return 3;                                                     // U+2000-200A, 202F
  if (at(0) == 0xE3 && at(1) == 0x80 && at(2) == 0x80) return 3;  // U+3000
  return 0;
}

// Abbreviations after which a full stop does not end a sentence (compared without the
// stop). Dictionary labels ("Zool.", "Gr.") matter most for GCIDE definitions.
const std::unordered_set<std::string_view>& Abbreviations() {
  static const std::unordered_set<std::string_view> kAbbrev = {
      "Mr",      "Mrs",     "Ms",   "Dr",   "St",   "Jr",   "Sr",    "Prof",   "Gen",    "Col",  "Capt",
      "Rev",     "Hon",     "Mt",   "Ft",   "vs",   "viz",  "cf",    "Cf",     "e.g",    "i.e",  "E.g",
      "I.e",     "esp",     "Esp",  "fig",  "Fig",  "No",   "Nos",   "ca",     "approx", "pl",   "sing",
      "adj",     "adv",     "prep", "pp",   "p",    "n",    "v",     "imp",    "Gr",     "Lat",  "LL",
      "NL",      "OF",      "OE",   "AS",   "ME",   "OHG",  "Fr",    "Ger",    "It",     "Sp",   "Skr",
      "Heb",     "Ar",      "Pg",   "Icel", "Dan",  "Sw",   "Eng",   "Am",     "Brit",   "Zool", "Bot",
      "Chem",    "Med",     "Anat", "Geol", "Min",  "Mech", "Math",  "Mus",    "Arch",   "Naut", "Mil",
      "Astron",  "Physiol", "Gram", "Law",  "Eccl", "Her",  "Print", "Photog", "Elec",   "Obs",  "Colloq",
      "Archaic", "Poetic",  "Prov", "R.R",  "U.S",  "Jan",  "Feb",   "Mar",    "Apr",    "Jun",  "Jul",
      "Aug",     "Sep",     "Sept", "Oct",  "Nov",  "Dec",  "Inc",   "Ltd",    "Co",     "Corp", "Bros"};
  return kAbbrev;
}

}  // namespace

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string CleanWhitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t u = c >= 0x80 ? UnicodeSpaceAt(s, i) : 0;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || u > 0) {
      space = true;
      i += u > 0 ? u : 1;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(c));
    ++i;
  }
  return out;
}

std::string Join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(separator);
    out.append(items[i]);
  }
  return out;
}

uint64_t CountWords(std::string_view s) {
  uint64_t n = 0;
  bool in_word = false;
  for (char c : s) {
    bool sp = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!sp && !in_word) ++n;
    in_word = !sp;
  }
  return n;
}

std::string DedupKey(std::string_view s) {
  std::string key;
  key.reserve(s.size());
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c >= 0x80) {
      key.push_back(ch);
    } else if (IsAsciiAlnum(c)) {
      key.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    }
  }
  return key;
}

uint64_t Hash64(std::string_view bytes, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::vector<std::string> SplitSentences(std::string_view text) {
  std::string s = CleanWhitespace(text);
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '.' && c != '!' && c != '?') continue;
    size_t j = i + 1;
    while (j < s.size() && (s[j] == '"' || s[j] == '\'' || s[j] == ')' || s[j] == ']')) ++j;
    if (j + 1 >= s.size() || s[j] != ' ') continue;
    unsigned char next = static_cast<unsigned char>(s[j + 1]);
    if (!(IsUpper(next) || (next >= '0' && next <= '9') || next == '"' || next == '(')) continue;
    if (c == '.') {
      size_t w = i;
      while (w > start && s[w - 1] != ' ' && s[w - 1] != '(' && s[w - 1] != '"') --w;
      std::string_view word(s.data() + w, i - w);
      if (word.size() == 1 && IsUpper(static_cast<unsigned char>(word[0]))) continue;  // an initial
      if (Abbreviations().count(word)) continue;
    }
    std::string sentence = s.substr(start, j - start);
    if (!sentence.empty()) out.push_back(std::move(sentence));
    start = j + 1;
  }
  if (start < s.size()) out.push_back(s.substr(start));
  return out;
}

const char* MisEncodingReason(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = p[i];
    if (c < 0x20 && c != '\t' && c != '\n') return "control character";
    if (c == 0x7F) return "control character";
    if (c < 0x80) continue;
    unsigned char c1 = i + 1 < n ? p[i + 1] : 0;
    unsigned char c2 = i + 2 < n ? p[i + 2] : 0;
    unsigned char c3 = i + 3 < n ? p[i + 3] : 0;
    if (c == 0xEF && c1 == 0xBF && c2 == 0xBD) return "replacement character U+FFFD";
    if (c == 0xC2 && c1 >= 0x80 && c1 <= 0x9F) return "C1 control character (Windows-1252 read as Latin-1)";
    // "Ã" (C3 83) + a Latin-1 continuation-range character (C2 80-BF): UTF-8 decoded twice.
    if (c == 0xC3 && c1 == 0x83 && c2 == 0xC2 && c3 >= 0x80 && c3 <= 0xBF) return "UTF-8 read as Latin-1";
    // "â€" (C3 A2 E2 82 AC): the start of a doubly-encoded curly quote or dash.
    if (c == 0xC3 && c1 == 0xA2 && c2 == 0xE2 && c3 == 0x82 && i + 4 < n && p[i + 4] == 0xAC) {
      return "UTF-8 read as Windows-1252";
    }
  }
  return nullptr;
}

bool ContainsSlur(std::string_view s) {
  // Stored in ROT13 so that the source does not spell them out.
  static const std::unordered_set<std::string> kSlurs = [] {
    const char* rot13[] = {"avttre", "avttref", "avttn",   "avttnf",   "avttnm", "snttbg",  "snttbgf",
                           "xvxr",   "xvxrf",   "jrgonpx", "jrgonpxf", "genaal", "genaavrf"};
    std::unordered_set<std::string> set;
    for (const char* w : rot13) {
      std::string d(w);
      for (char& c : d) c = static_cast<char>('a' + (c - 'a' + 13) % 26);
      set.insert(d);
    }
    return set;
  }();
  std::string word;
  auto check = [&] {
    bool hit = !word.empty() && kSlurs.count(word) > 0;
    word.clear();
    return hit;
  };
  for (char ch : s) {
    unsigned char c = static_cast<unsigned char>(ch);
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') {
      word.push_back(static_cast<char>(c | 0x20));
    } else if (check()) {
      return true;
    }
  }
  return check();
}

}  // namespace spade::data::corpus
