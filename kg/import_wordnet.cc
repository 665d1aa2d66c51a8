// WordNet 3.0 database files -> assertions between lemmas (see kg/FORMAT.md):
//   @ @i hypernym        S IsA T           %p %m part/member meronym  T PartOf S
//   %s substance meronym S MadeOf T        !  antonym (lexical)       Antonym
//   &  similar to        SimilarTo         *  entailment              S Entails T
//   >  cause             S Causes T        +  derivation (lexical)    DerivedFrom
//   lemmas of one synset: Synonym (each pair once, in synset order)
// Holonyms and hyponyms are the inverses of the pointers above and add nothing.
#include <charconv>
#include <unordered_map>

#include "data/error.h"
#include "data/line_reader.h"
#include "kg/import.h"
#include "kg/normalize.h"

namespace spade::kg {
namespace {

struct Pointer {
  std::string symbol;
  char pos;         // n v a r (s folded into a)
  uint32_t offset;
  int source_word;  // 0 = whole synset
  int target_word;
};

struct Synset {
  std::vector<std::string> lemmas;
  std::vector<Pointer> pointers;
};

char FilePos(char pos) { return pos == 's' ? 'a' : pos; }

uint64_t Key(char pos, uint32_t offset) { return (uint64_t{static_cast<unsigned char>(pos)} << 32) | offset; }

template <typename T>
bool ParseNum(std::string_view s, T* out, int base = 10) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits a data line into space-separated tokens up to the gloss separator '|'.
std::vector<std::string_view> Tokens(std::string_view line) {
  size_t bar = line.find(" | ");
  if (bar != std::string_view::npos) line = line.substr(0, bar);
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// Parses one synset line; returns false with *reason on malformed input.
bool ParseSynset(std::string_view line, uint32_t* offset, Synset* s, std::string* reason) {
  std::vector<std::string_view> t = Tokens(line);
  size_t k = 0;
  auto need = [&](size_t n) {
    if (k + n > t.size()) {
      *reason = "synset line ends early";
      return false;
    }
    return true;
  };
  if (!need(4)) return false;
  unsigned w_cnt = 0;
  if (!ParseNum(t[0], offset) || !ParseNum(t[3], &w_cnt, 16)) {
    *reason = "bad synset offset or word count";
    return false;
  }
  k = 4;
  if (!need(2 * w_cnt + 1)) return false;
  for (unsigned i = 0; i < w_cnt; ++i, k += 2) {
    std::string_view word = t[k];
    if (size_t paren = word.find('('); paren != std::string_view::npos) word = word.substr(0, paren);
    s->lemmas.push_back(NormalizeConcept(word));
  }
  unsigned p_cnt = 0;
  if (!ParseNum(t[k++], &p_cnt)) {
    *reason = "bad pointer count";
    return false;
  }
  if (!need(4 * p_cnt)) return false;
  for (unsigned i = 0; i < p_cnt; ++i, k += 4) {
    Pointer p;
    p.symbol = std::string(t[k]);
    unsigned st = 0;
    if (!ParseNum(t[k + 1], &p.offset) || t[k + 2].size() != 1 || t[k + 3].size() != 4 ||
        !ParseNum(t[k + 3], &st, 16)) {
      *reason = "bad pointer '" + p.symbol + "'";
      return false;
    }
    p.pos = FilePos(t[k + 2][0]);
    p.source_word = static_cast<int>(st >> 8);
    p.target_word = static_cast<int>(st & 0xff);
    s->pointers.push_back(std::move(p));
  }
  return true;
}

struct Mapping {
  const char* relation;
  bool reverse;  // edge runs target -> source
  bool lexical_only;
};

const Mapping* MapPointer(const std::string& symbol) {
  static const std::unordered_map<std::string, Mapping> kMap = {
      {"@", {"IsA", false, false}},       {"@i", {"IsA", false, false}},
      {"%p", {"PartOf", true, false}},    {"%m", {"PartOf", true, false}},
      {"%s", {"MadeOf", false, false}},   {"!", {"Antonym", false, true}},
      {"&", {"SimilarTo", false, false}}, {"*", {"Entails", false, false}},
      {">", {"Causes", false, false}},    {"+", {"DerivedFrom", false, true}},
  };
  auto it = kMap.find(symbol);
  return it == kMap.end() ? nullptr : &it->second;
}

}  // namespace

ImportStats ImportWordNet(const std::string& dir, const ImportOptions& options,
                          const ImportCallbacks& callbacks) {
  std::unordered_map<uint64_t, Synset> synsets;
  ImportStats stats;
  const std::pair<const char*, char> files[] = {
      {"data.noun", 'n'}, {"data.verb", 'v'}, {"data.adj", 'a'}, {"data.adv", 'r'}};
  uint64_t total_bytes = 0, done_bytes = 0;
  for (const auto& [name, pos] : files) {
    LineReader reader(dir + "/" + name);
    total_bytes += reader.file_size();
  }
  for (const auto& [name, pos] : files) {
    std::string path = dir + "/" + name;
    LineReader reader(path);
    std::string_view line;
    std::string reason;
    LineReader::Status st;
    while ((st = reader.Next(&line)) != LineReader::Status::kEnd) {
      if (st == LineReader::Status::kLine && line.starts_with("  ")) continue;  // licence header
      ++stats.rows;
      std::string where = path + ":" + std::to_string(reader.line_number());
      uint32_t offset = 0;
      Synset s;
      bool ok = st == LineReader::Status::kLine && ParseSynset(line, &offset, &s, &reason);
      if (st == LineReader::Status::kTooLong) reason = "line too long";
      if (!ok) {
        ++stats.bad_rows;
        if (options.strict) throw ParseError(where, reason);
        if (callbacks.on_bad_row) callbacks.on_bad_row(where, reason);
        continue;
      }
      synsets.emplace(Key(pos, offset), std::move(s));
    }
    done_bytes += reader.file_size();
    if (callbacks.on_progress) callbacks.on_progress(done_bytes / 2, total_bytes, stats.rows);
  }

  std::vector<RawAssertion> batch;
  auto emit = [&](const std::string& h, const char* rel, const std::string& t) {
    if (h.empty() || t.empty() || h == t) {
      ++stats.skipped;
      return;
    }
    batch.push_back({h, rel, t, 1.0f, false});
    ++stats.assertions;
  };
  for (const auto& [key, s] : synsets) {
    for (size_t i = 0; i < s.lemmas.size(); ++i) {
      for (size_t j = i + 1; j < s.lemmas.size(); ++j) emit(s.lemmas[i], "Synonym", s.lemmas[j]);
    }
    for (const Pointer& p : s.pointers) {
      const Mapping* m = MapPointer(p.symbol);
      if (m == nullptr) continue;
      auto target = synsets.find(Key(p.pos, p.offset));
      if (target == synsets.end()) continue;  // dangling pointer: nothing to connect
      const Synset& t = target->second;
      bool lexical = p.source_word != 0;
      if (m->lexical_only && !lexical) continue;
      auto pick = [](const Synset& x, int word) -> std::vector<const std::string*> {
        std::vector<const std::string*> out;
        if (word == 0) {
          for (const auto& l : x.lemmas) out.push_back(&l);
        } else if (static_cast<size_t>(word) <= x.lemmas.size()) {
          out.push_back(&x.lemmas[static_cast<size_t>(word) - 1]);
        }
        return out;
      };
      for (const std::string* a : pick(s, p.source_word)) {
        for (const std::string* b : pick(t, p.target_word)) {
          if (m->reverse) {
            emit(*b, m->relation, *a);
          } else {
            emit(*a, m->relation, *b);
          }
        }
      }
    }
    if (batch.size() >= 65536 && callbacks.sink) {
      callbacks.sink(std::move(batch));
      batch.clear();
    }
  }
  if (!batch.empty() && callbacks.sink) callbacks.sink(std::move(batch));
  if (callbacks.on_progress) callbacks.on_progress(total_bytes, total_bytes, stats.rows);
  return stats;
}

}  // namespace spade::kg
