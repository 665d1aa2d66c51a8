#include "kg/normalize.h"

#include <utf8proc.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "data/error.h"

namespace spade::kg {

bool IsValidUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  utf8proc_ssize_t left = static_cast<utf8proc_ssize_t>(text.size());
  while (left > 0) {
    // ASCII runs, eight bytes at a time: the common case for every source.
    while (left >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if (word & 0x8080808080808080ULL) break;
      p += 8;
      left -= 8;
    }
    if (left == 0) break;
    if (*p < 0x80) {
      ++p;
      --left;
      continue;
    }
    utf8proc_int32_t cp;
    utf8proc_ssize_t n = utf8proc_iterate(p, left, &cp);
    if (n < 0) return false;
    p += n;
    left -= n;
  }
  return true;
}

namespace {

bool IsSeparator(unsigned char c) { return c == ' ' || c == '_' || c == '\t' || c == '\n' || c == '\r'; }

// Collapses separators into single '_' and trims them; `s` is already case-folded.
std::string CollapseSeparators(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (unsigned char c : s) {
    if (IsSeparator(c)) {
      pending = !out.empty();
      continue;
    }
    if (pending) out.push_back('_');
    pending = false;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

}  // namespace

std::string NormalizeConcept(std::string_view text) {
  bool ascii = true;
  for (unsigned char c : text) ascii &= c < 0x80;
  if (ascii) {
    std::string lower(text);
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return CollapseSeparators(lower);
  }
  if (!IsValidUtf8(text)) throw InvalidArgument("invalid UTF-8 in concept name");
  utf8proc_uint8_t* folded = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                    static_cast<utf8proc_ssize_t>(text.size()), &folded,
                                    static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                                   UTF8PROC_CASEFOLD));
  if (n < 0) throw InvalidArgument(std::string("cannot normalise concept name: ") + utf8proc_errmsg(n));
  std::unique_ptr<utf8proc_uint8_t, void (*)(void*)> owner(folded, &std::free);
  return CollapseSeparators(std::string_view(reinterpret_cast<const char*>(folded), static_cast<size_t>(n)));
}

}  // namespace spade::kg
