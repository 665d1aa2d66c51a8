#include "encoder/wordpiece_train.h"

#include <map>
#include <set>
#include <utf8proc.h>

#include "encoder/pair_counts.h"
#include "encoder/safetensors.h"

namespace spade::encoder {
namespace {

std::vector<std::string> SplitChars(const std::string& w) {
  std::vector<std::string> out;
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(w.data());
  size_t pos = 0;
  while (pos < w.size()) {
    utf8proc_int32_t cp;
    auto n = utf8proc_iterate(p + pos, static_cast<utf8proc_ssize_t>(w.size() - pos), &cp);
    if (n <= 0) n = 1;
    out.push_back((out.empty() ? "" : "##") + w.substr(pos, static_cast<size_t>(n)));
    pos += static_cast<size_t>(n);
  }
  return out;
}

std::string Merge(const std::string& a, const std::string& b) { return a + b.substr(2); }  // drop b's "##"

}  // namespace

std::vector<std::string> TrainWordPieceVocab(const std::vector<std::string>& texts, const WordPieceTrainOptions& o) {
  // A tokenizer whose vocabulary is only [UNK] gives us BasicTokenize with o.tokenizer.
  WordPieceOptions wo = o.tokenizer;
  const WordPieceTokenizer basic({wo.unk_token}, wo);
  std::map<std::string, int64_t> counts;
  for (const auto& t : texts) {
    for (const auto& w : basic.BasicTokenize(t)) ++counts[w];
  }
  std::vector<std::string> vocab = o.special_tokens;
  std::set<std::string> seen(vocab.begin(), vocab.end());
  std::vector<std::pair<std::vector<std::string>, int64_t>> words;
  std::set<std::string> alphabet;
  for (const auto& [w, c] : counts) {
    if (seen.count(w)) continue;  // special tokens written in the text
    auto parts = SplitChars(w);
    for (const auto& p : parts) alphabet.insert(p);
    words.emplace_back(std::move(parts), c);
  }
  for (const auto& a : alphabet) {
    if (static_cast<int>(vocab.size()) >= o.vocab_size) break;
    if (seen.insert(a).second) vocab.push_back(a);
  }
  while (static_cast<int>(vocab.size()) < o.vocab_size) {
    SymbolPair pr;
    int64_t best_count = 0;
    if (!MostFrequentPair(words, &pr, &best_count) || best_count < o.min_frequency) break;
    const std::string merged = Merge(pr.first, pr.second);
    if (seen.insert(merged).second) vocab.push_back(merged);
    for (auto& [parts, c] : words) {
      std::vector<std::string> next;
      for (size_t i = 0; i < parts.size();) {
        if (i + 1 < parts.size() && parts[i] == pr.first && parts[i + 1] == pr.second) {
          next.push_back(merged);
          i += 2;
        } else {
          next.push_back(parts[i++]);
        }
      }
      parts = std::move(next);
    }
  }
  return vocab;
}

void SaveVocabTxt(const std::vector<std::string>& vocab, const std::string& path) {
  std::string s;
  for (const auto& t : vocab) s += t + "\n";
  WriteFileAtomic(path, s);
}

}  // namespace spade::encoder
