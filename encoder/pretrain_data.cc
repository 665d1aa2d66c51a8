#include "encoder/pretrain_data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "encoder/bpe.h"
#include "encoder/sentencepiece.h"
#include "encoder/wordpiece.h"

namespace spade::encoder {
namespace fs = std::filesystem;
namespace {

bool StartsWith(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }

TextTokenizer WordPieceTextTokenizer(const std::string& dir) {
  auto wp = std::make_shared<WordPieceTokenizer>(WordPieceTokenizer::FromModelDir(dir));
  TextTokenizer t;
  t.kind = "wordpiece";
  t.vocab_size = wp->vocab_size();
  const WordPieceOptions& o = wp->options();
  auto id = [&](const std::string& tok) {
    const int32_t i = wp->TokenToId(tok);
    return wp->IdToToken(i) == tok ? i : -1;
  };
  t.pad_id = std::max(0, id(o.pad_token));
  t.cls_id = id(o.cls_token);
  t.sep_id = id(o.sep_token);
  t.mask_id = id(o.mask_token);
  t.word_start.assign(size_t(t.vocab_size), 1);
  t.special.assign(size_t(t.vocab_size), 0);
  for (int32_t i = 0; i < t.vocab_size; ++i) {
    const std::string& s = wp->IdToToken(i);
    if (StartsWith(s, "##")) t.word_start[size_t(i)] = 0;
    if (s.size() > 2 && s.front() == '[' && s.back() == ']') t.special[size_t(i)] = 1;
  }
  t.encode = [wp](const std::string& s) { return wp->Encode(s, /*add_special_tokens=*/false); };
  t.decode = [wp](const std::vector<int32_t>& ids) {
    std::string out;
    for (int32_t i : ids) {
      const std::string& s = wp->IdToToken(i);
      if (StartsWith(s, "##")) {
        out += s.substr(2);
      } else {
        if (!out.empty()) out += ' ';
        out += s;
      }
    }
    return out;
  };
  t.files = {"vocab.txt", "tokenizer_config.json"};
  return t;
}

TextTokenizer SentencePieceTextTokenizer(const std::string& dir) {
  auto sp = std::make_shared<SentencePieceTokenizer>(SentencePieceTokenizer::FromModelDir(dir));
  TextTokenizer t;
  t.kind = "sentencepiece";
  t.vocab_size = sp->vocab_size();
  t.word_start.assign(size_t(t.vocab_size), 0);
  t.special.assign(size_t(t.vocab_size), 0);
  for (int32_t i = 0; i < t.vocab_size; ++i) {
    const std::string& s = sp->IdToPiece(i);
    if (StartsWith(s, "\xE2\x96\x81")) t.word_start[size_t(i)] = 1;
    if (s == "<pad>" || s == "<unk>" || s == "<s>" || s == "</s>" || (s.size() > 2 && s.front() == '[' && s.back() == ']')) {
      t.special[size_t(i)] = 1;
    }
    if (s == "<pad>") t.pad_id = i;
    if (s == "[CLS]") t.cls_id = i;
    if (s == "[SEP]") t.sep_id = i;
    if (s == "[MASK]") t.mask_id = i;
  }
  t.encode = [sp](const std::string& s) { return sp->Encode(s, /*add_special_tokens=*/false); };
  t.decode = [sp](const std::vector<int32_t>& ids) { return sp->Decode(ids); };
  t.files = {"spiece.model", "tokenizer_config.json"};
  return t;
}

TextTokenizer BpeTextTokenizer(const std::string& dir) {
  auto bpe = std::make_shared<ByteLevelBpe>(ByteLevelBpe::FromModelDir(dir));
  TextTokenizer t;
  t.kind = "bpe";
  t.vocab_size = bpe->vocab_size();
  t.eos_id = bpe->TokenToId("<|endoftext|>");
  t.pad_id = std::max(0, t.eos_id);
  t.word_start.assign(size_t(t.vocab_size), 0);
  t.special.assign(size_t(t.vocab_size), 0);
  if (t.eos_id >= 0) t.special[size_t(t.eos_id)] = 1;
  for (int32_t i = 0; i < t.vocab_size; ++i) {
    if (i == t.eos_id) continue;
    const std::string s = bpe->Decode({i});
    t.word_start[size_t(i)] = !s.empty() && s[0] == ' ';
  }
  t.encode = [bpe](const std::string& s) { return bpe->Encode(s); };
  t.decode = [bpe](const std::vector<int32_t>& ids) { return bpe->Decode(ids); };
  t.files = {"vocab.json", "merges.txt"};
  return t;
}

// splitmix64
uint64_t Mix(uint64_t z) {
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

int64_t Uniform(std::mt19937_64& rng, int64_t n) {  // [0, n)
  return static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
}

// Appends sentences s, s+1, ... of one document to *out until `budget` tokens.
void TakeSentences(const TokenizedCorpus& c, int64_t s, int64_t doc_end_sentence, int64_t budget,
                   std::vector<int32_t>* out, std::vector<int64_t>* boundaries) {
  for (; s < doc_end_sentence && static_cast<int64_t>(out->size()) < budget; ++s) {
    const int64_t b = c.sentence_begin[size_t(s)], e = c.sentence_begin[size_t(s) + 1];
    const int64_t n = std::min(e - b, budget - static_cast<int64_t>(out->size()));
    out->insert(out->end(), c.ids.begin() + b, c.ids.begin() + b + n);
    if (boundaries) boundaries->push_back(static_cast<int64_t>(out->size()));
  }
}

int64_t DocOfSentence(const TokenizedCorpus& c, int64_t s) {
  return static_cast<int64_t>(std::upper_bound(c.doc_begin.begin(), c.doc_begin.end(), s) - c.doc_begin.begin()) - 1;
}

// A random segment of one document: sentences from a random start, up to `budget` tokens.
std::vector<int32_t> RandomSegment(const TokenizedCorpus& c, std::mt19937_64& rng, int64_t budget,
                                   int64_t avoid_doc) {
  int64_t s = Uniform(rng, c.sentences());
  int64_t d = DocOfSentence(c, s);
  if (d == avoid_doc && c.documents() > 1) {
    d = (d + 1 + Uniform(rng, c.documents() - 1)) % c.documents();
    s = c.doc_begin[size_t(d)];
  }
  std::vector<int32_t> out;
  TakeSentences(c, s, c.doc_begin[size_t(d) + 1], budget, &out, nullptr);
  return out;
}

}  // namespace

uint64_t DrawSeed(uint64_t seed, int64_t step, int rank, int64_t index) {
  return Mix(Mix(Mix(seed) ^ static_cast<uint64_t>(step)) ^ (static_cast<uint64_t>(rank) << 40) ^
             static_cast<uint64_t>(index));
}

TextTokenizer LoadTextTokenizer(const std::string& dir) {
  TextTokenizer t;
  if (fs::exists(dir + "/vocab.txt")) {
    t = WordPieceTextTokenizer(dir);
  } else if (fs::exists(dir + "/spiece.model")) {
    t = SentencePieceTextTokenizer(dir);
  } else if (fs::exists(dir + "/vocab.json") && fs::exists(dir + "/merges.txt")) {
    t = BpeTextTokenizer(dir);
  } else {
    throw Error(ErrorCode::kNotFound,
                dir + ": no tokenizer (vocab.txt, spiece.model, or vocab.json + merges.txt) in this directory");
  }
  t.dir = dir;
  return t;
}

void CopyTokenizerFiles(const TextTokenizer& tok, const std::string& dir) {
  for (const std::string& f : tok.files) {
    const fs::path src = fs::path(tok.dir) / f;
    if (!fs::exists(src)) continue;  // tokenizer_config.json is optional
    std::error_code ec;
    const fs::path dst = fs::path(dir) / f;
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::permissions(dst, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                                      fs::perms::others_read, ec);
    if (ec) throw Error(ErrorCode::kIOError, src.string() + " -> " + dir + ": " + ec.message());
  }
}

namespace {

// Encodes lines[i] for every i on `threads` threads; counts whitespace-separated words.
void EncodeLines(const std::vector<std::string>& lines, const std::vector<uint8_t>& first_in_doc,
                 const TextTokenizer& tok, bool bpe, int threads, std::vector<std::vector<int32_t>>& encoded,
                 std::vector<int64_t>& words) {
  encoded.assign(lines.size(), {});
  words.assign(lines.size(), 0);
  std::vector<std::thread> pool;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      try {
        for (size_t i = size_t(t); i < lines.size(); i += size_t(threads)) {
          encoded[i] = tok.encode(bpe && !first_in_doc[i] ? " " + lines[i] : lines[i]);
          int64_t w = 0;
          bool in_word = false;
          for (char ch : lines[i]) {
            const bool space = ch == ' ' || ch == '\t';
            if (!space && !in_word) ++w;
            in_word = !space;
          }
          words[i] = w;
        }
      } catch (...) {
        errors[size_t(t)] = std::current_exception();
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace

TokenizedCorpus TokenizeCorpusFile(const std::string& path, const TextTokenizer& tok, int threads) {
  std::ifstream in(path);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open the corpus file");
  // Lines are read and encoded a chunk at a time, so peak memory is the token ids plus one
  // chunk of text rather than the whole file as strings beside its encoding.
  constexpr size_t kChunkLines = 1 << 15;
  const bool bpe = tok.kind == "bpe";
  threads = std::max(1, threads);
  TokenizedCorpus c;
  std::vector<std::string> lines;
  std::vector<uint8_t> first_in_doc;
  std::vector<std::vector<int32_t>> encoded;
  std::vector<int64_t> words;
  std::string line;
  bool new_doc = true, any_line = false;
  int64_t lines_done = 0;
  auto flush = [&] {
    EncodeLines(lines, first_in_doc, tok, bpe, threads, encoded, words);
    for (size_t i = 0; i < lines.size(); ++i) {
      if (first_in_doc[i]) {
        if (bpe && lines_done + int64_t(i) > 0 && tok.eos_id >= 0) {
          // The end-of-text token closes the previous document (part of its last sentence).
          c.ids.push_back(tok.eos_id);
        }
        c.doc_begin.push_back(static_cast<int64_t>(c.sentence_begin.size()));
      }
      if (encoded[i].empty()) continue;  // e.g. a line of characters the vocabulary drops
      c.sentence_begin.push_back(static_cast<int64_t>(c.ids.size()));
      c.ids.insert(c.ids.end(), encoded[i].begin(), encoded[i].end());
      c.words += words[i];
    }
    lines_done += int64_t(lines.size());
    lines.clear();
    first_in_doc.clear();
  };
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      new_doc = true;
      continue;
    }
    first_in_doc.push_back(new_doc);
    lines.push_back(std::move(line));
    new_doc = false;
    any_line = true;
    if (lines.size() == kChunkLines) flush();
  }
  if (!any_line) throw Error(ErrorCode::kInvalidArgument, path + ": the corpus holds no sentence");
  flush();
  c.ids.shrink_to_fit();
  c.sentence_begin.push_back(static_cast<int64_t>(c.ids.size()));
  c.doc_begin.push_back(c.sentences());
  // Drop documents left empty.
  std::vector<int64_t> docs;
  for (size_t d = 0; d + 1 < c.doc_begin.size(); ++d) {
    if (c.doc_begin[d + 1] > c.doc_begin[d]) docs.push_back(c.doc_begin[d]);
  }
  docs.push_back(c.sentences());
  c.doc_begin = std::move(docs);
  if (c.sentences() == 0) throw Error(ErrorCode::kInvalidArgument, path + ": no sentence has a token");
  for (int64_t d = 0; d < c.documents(); ++d) {
    if (c.doc_begin[size_t(d) + 1] - c.doc_begin[size_t(d)] >= 2) c.multi_sentence_docs.push_back(d);
  }
  return c;
}

std::vector<int32_t> MaskTokens(std::vector<int32_t>* ids, const std::vector<uint8_t>& candidate,
                                const TextTokenizer& tok, const MaskingOptions& o, uint64_t rng_seed) {
  std::mt19937_64 rng(rng_seed);
  std::vector<int32_t> labels(ids->size(), -100);
  // Units: single tokens, or whole words (a word-start token and its continuations).
  std::vector<std::pair<size_t, size_t>> units;  // [begin, end)
  size_t n_candidates = 0;
  for (size_t i = 0; i < ids->size(); ++i) {
    if (!candidate[i]) continue;
    ++n_candidates;
    const int32_t id = (*ids)[i];
    const bool starts = !o.whole_word || units.empty() || units.back().second != i ||
                        tok.word_start.empty() || tok.word_start[size_t(id)];
    if (starts) {
      units.push_back({i, i + 1});
    } else {
      units.back().second = i + 1;
    }
  }
  if (n_candidates == 0) return labels;
  const size_t want = std::max<size_t>(1, static_cast<size_t>(std::lround(o.rate * static_cast<float>(n_candidates))));
  std::shuffle(units.begin(), units.end(), rng);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  size_t taken = 0;
  for (const auto& [b, e] : units) {
    if (taken >= want) break;
    if (taken + (e - b) > want && taken > 0) continue;  // a whole word would overshoot: try a shorter one
    for (size_t i = b; i < e; ++i) {
      labels[i] = (*ids)[i];
      const float r = u(rng);
      if (r < o.mask_fraction) {
        (*ids)[i] = tok.mask_id;
      } else if (r < o.mask_fraction + o.random_fraction) {
        int32_t v;
        do {
          v = static_cast<int32_t>(Uniform(rng, tok.vocab_size));
        } while (tok.special[size_t(v)]);
        (*ids)[i] = v;
      }
    }
    taken += e - b;
  }
  return labels;
}

PretrainBatch MakeMlmBatch(const TokenizedCorpus& c, const TextTokenizer& tok, const BatchOptions& o, int64_t step) {
  if (tok.cls_id < 0 || tok.sep_id < 0 || tok.mask_id < 0) {
    throw Error(ErrorCode::kInvalidArgument, tok.dir + ": a masked-LM tokenizer needs [CLS], [SEP] and [MASK] tokens");
  }
  const int B = o.batch, T = o.seq;
  if (T < 8) throw Error(ErrorCode::kInvalidArgument, "--seq must be at least 8, got " + std::to_string(T));
  PretrainBatch pb;
  Batch& b = pb.batch;
  b.batch = B;
  b.seq = T;
  b.input_ids.assign(size_t(B) * T, tok.pad_id);
  b.token_type_ids.assign(size_t(B) * T, 0);
  b.attention_mask.assign(size_t(B) * T, 0.0f);
  pb.mlm_labels.assign(size_t(B) * T, -100);
  const bool pairs = o.sentence != SentenceTask::kNone;
  if (pairs && c.multi_sentence_docs.empty() && o.sentence == SentenceTask::kSop) {
    throw Error(ErrorCode::kInvalidArgument, "sentence-order prediction needs documents of at least 2 sentences");
  }
  for (int s = 0; s < B; ++s) {
    std::mt19937_64 rng(DrawSeed(o.seed, step, o.rank, s));
    std::vector<int32_t> seq = {tok.cls_id};
    std::vector<int32_t> types = {0};
    if (!pairs) {
      // Sentences from a random start, crossing into the following documents until the
      // sequence is full (RoBERTa's FULL-SENTENCES packing), wrapping at the corpus end.
      std::vector<int32_t> body;
      for (int64_t s_i = Uniform(rng, c.sentences()); static_cast<int64_t>(body.size()) < T - 2;
           s_i = (s_i + 1) % c.sentences()) {
        TakeSentences(c, s_i, s_i + 1, T - 2, &body, nullptr);
      }
      seq.insert(seq.end(), body.begin(), body.end());
      seq.push_back(tok.sep_id);
      types.assign(seq.size(), 0);
    } else {
      // A chunk of consecutive sentences from a document with >= 2 sentences, split in two.
      const int64_t d = c.multi_sentence_docs[size_t(Uniform(rng, static_cast<int64_t>(c.multi_sentence_docs.size())))];
      const int64_t first = c.doc_begin[size_t(d)], end = c.doc_begin[size_t(d) + 1];
      const int64_t start = first + Uniform(rng, end - first - 1);  // leaves at least one sentence after
      std::vector<int32_t> chunk;
      std::vector<int64_t> bounds;
      TakeSentences(c, start, end, T - 3, &chunk, &bounds);
      // Split at a sentence boundary when the chunk has two or more sentences, else mid-sentence.
      int64_t cut;
      if (bounds.size() >= 2) {
        cut = bounds[size_t(Uniform(rng, static_cast<int64_t>(bounds.size()) - 1))];
      } else {
        cut = std::max<int64_t>(1, static_cast<int64_t>(chunk.size()) / 2);
      }
      std::vector<int32_t> a(chunk.begin(), chunk.begin() + cut), bseg(chunk.begin() + cut, chunk.end());
      if (bseg.empty()) {  // one-token chunk: take the next sentence as B
        TakeSentences(c, start + 1, end, 1, &bseg, nullptr);
      }
      int32_t label = 0;
      const bool flip = Uniform(rng, 2) == 1;
      if (o.sentence == SentenceTask::kSop && flip) {
        std::swap(a, bseg);
        label = 1;
      } else if (o.sentence == SentenceTask::kNsp && flip) {
        bseg = RandomSegment(c, rng, static_cast<int64_t>(bseg.size()) + 1, d);
        label = 1;
      }
      // Trim the longer segment, away from the junction of the two in document order (the
      // earlier one loses its front, the later one its end), so they stay consecutive.
      const bool a_is_earlier = !(o.sentence == SentenceTask::kSop && label == 1);
      while (static_cast<int64_t>(a.size() + bseg.size()) > T - 3) {
        std::vector<int32_t>& longer = a.size() >= bseg.size() ? a : bseg;
        const bool earlier = (&longer == &a) == a_is_earlier;
        if (earlier) {
          longer.erase(longer.begin());
        } else {
          longer.pop_back();
        }
      }
      seq.insert(seq.end(), a.begin(), a.end());
      seq.push_back(tok.sep_id);
      types.assign(seq.size(), 0);
      seq.insert(seq.end(), bseg.begin(), bseg.end());
      seq.push_back(tok.sep_id);
      types.resize(seq.size(), 1);
      pb.sentence_labels.push_back(label);
    }
    std::vector<uint8_t> candidate(seq.size(), 1);
    for (size_t i = 0; i < seq.size(); ++i) candidate[i] = !tok.special[size_t(seq[i])];
    std::vector<int32_t> original = seq;
    std::vector<int32_t> labels = MaskTokens(&seq, candidate, tok, o.masking, rng());
    const size_t off = size_t(s) * T;
    for (size_t i = 0; i < seq.size(); ++i) {
      b.input_ids[off + i] = seq[i];
      b.token_type_ids[off + i] = types[i];
      b.attention_mask[off + i] = 1.0f;
      pb.mlm_labels[off + i] = labels[i];
    }
    pb.original_ids.resize(off);
    pb.original_ids.insert(pb.original_ids.end(), original.begin(), original.end());
    pb.original_ids.resize(off + T, tok.pad_id);
    pb.tokens += static_cast<int64_t>(seq.size());
  }
  return pb;
}

PretrainBatch MakeClmBatch(const TokenizedCorpus& c, const TextTokenizer& /*tok*/, const BatchOptions& o,
                           int64_t step) {
  const int B = o.batch, T = o.seq;
  const int64_t n = static_cast<int64_t>(c.ids.size());
  if (n < T + 1) {
    throw Error(ErrorCode::kInvalidArgument, "the corpus has " + std::to_string(n) + " tokens, fewer than --seq " +
                                                 std::to_string(T) + " + 1");
  }
  PretrainBatch pb;
  pb.batch.batch = B;
  pb.batch.seq = T;
  pb.batch.input_ids.resize(size_t(B) * T);
  for (int s = 0; s < B; ++s) {
    std::mt19937_64 rng(DrawSeed(o.seed, step, o.rank, s));
    const int64_t start = Uniform(rng, n - T + 1);
    std::copy(c.ids.begin() + start, c.ids.begin() + start + T, pb.batch.input_ids.begin() + int64_t(s) * T);
  }
  pb.original_ids = pb.batch.input_ids;
  pb.mlm_labels = pb.batch.input_ids;
  pb.tokens = int64_t(B) * T;
  return pb;
}

}  // namespace spade::encoder
