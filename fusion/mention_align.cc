#include "fusion/mention_align.h"

#include <algorithm>

#include "encoder/error.h"

namespace spade::fusion {

using encoder::Error;
using encoder::ErrorCode;

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

struct Word {
  size_t begin = 0, end = 0;  // byte span
  int first_token = 0;        // index of its first token in AlignedText::ids
  std::vector<int32_t> ids;
};

}  // namespace

AlignedText AlignMentions(std::string_view text, const std::vector<retrieval::Mention>& mentions,
                          const EncodeFn& encode, int max_tokens) {
  for (size_t m = 0; m < mentions.size(); ++m) {
    const auto& x = mentions[m];
    if (x.begin >= x.end || x.end > text.size()) {
      throw Error(ErrorCode::kInvalidArgument,
                  std::string("mention ").append(std::to_string(m)).append(" ('").append(x.concept_name)
                      .append("'): span [").append(std::to_string(x.begin)).append(", ")
                      .append(std::to_string(x.end)).append(") is empty or outside the text of ")
                      .append(std::to_string(text.size())).append(" bytes"));
    }
  }
  AlignedText out;
  std::vector<Word> words;
  for (size_t i = 0; i < text.size();) {
    if (IsSpace(text[i])) {
      ++i;
      continue;
    }
    Word w;
    w.begin = i;
    while (i < text.size() && !IsSpace(text[i])) ++i;
    w.end = i;
    w.first_token = static_cast<int>(out.ids.size());
    w.ids = encode(std::string(text.substr(w.begin, w.end - w.begin)));
    out.ids.insert(out.ids.end(), w.ids.begin(), w.ids.end());
    out.word_of_token.insert(out.word_of_token.end(), w.ids.size(), words.size());
    words.push_back(std::move(w));
  }
  if (max_tokens >= 0 && out.ids.size() > static_cast<size_t>(max_tokens)) {
    out.ids.resize(static_cast<size_t>(max_tokens));
    out.word_of_token.resize(static_cast<size_t>(max_tokens));
  }
  // Longest first among mentions starting at the same byte, so the longest claims the token.
  std::vector<size_t> order(mentions.size());
  for (size_t m = 0; m < order.size(); ++m) order[m] = m;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (mentions[a].begin != mentions[b].begin) return mentions[a].begin < mentions[b].begin;
    return mentions[a].end - mentions[a].begin > mentions[b].end - mentions[b].begin;
  });
  std::vector<int> owner(out.ids.size(), -1);
  for (size_t m : order) {
    const size_t begin = mentions[m].begin;
    // The word holding the mention's first byte (mentions never start on a space).
    auto it = std::upper_bound(words.begin(), words.end(), begin, [](size_t b, const Word& w) { return b < w.begin; });
    if (it == words.begin()) {
      ++out.dropped_truncated;  // starts in leading whitespace: no token to carry it
      continue;
    }
    const Word& w = *std::prev(it);
    if (begin >= w.end || w.ids.empty()) {
      ++out.dropped_truncated;
      continue;
    }
    int token = w.first_token;
    if (begin > w.begin) {
      const std::vector<int32_t> prefix = encode(std::string(text.substr(w.begin, begin - w.begin)));
      if (prefix.size() < w.ids.size() && std::equal(prefix.begin(), prefix.end(), w.ids.begin())) {
        token += static_cast<int>(prefix.size());
      }
    }
    if (token >= static_cast<int>(out.ids.size())) {
      ++out.dropped_truncated;
      continue;
    }
    if (owner[static_cast<size_t>(token)] >= 0) {
      ++out.dropped_overlapping;
      continue;
    }
    owner[static_cast<size_t>(token)] = static_cast<int>(m);
  }
  for (size_t t = 0; t < owner.size(); ++t) {
    if (owner[t] >= 0) out.aligned.push_back({static_cast<int>(t), static_cast<size_t>(owner[t])});
  }
  return out;
}

}  // namespace spade::fusion
