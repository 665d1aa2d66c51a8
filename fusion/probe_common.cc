#include "fusion/probe_common.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "encoder/checkpoint.h"
#include "encoder/error.h"
#include "encoder/safetensors.h"

namespace spade::fusion {

using encoder::Error;
using encoder::ErrorCode;

ProbeEncoder LoadProbeEncoder(const std::string& dir, const encoder::HeadsConfig& heads, bool random_init,
                              uint64_t seed, int num_labels) {
  ProbeEncoder p;
  p.tok = encoder::LoadTextTokenizer(dir);
  if (p.tok.cls_id < 0 || p.tok.sep_id < 0) {
    throw Error(ErrorCode::kInvalidArgument, dir + ": the tokenizer has no [CLS]/[SEP] tokens (a GPT-2 model "
                                                   "directory?); the probes need a BERT, ALBERT or ELECTRA encoder");
  }
  encoder::EncoderConfig c = encoder::LoadConfigJson(dir + "/config.json");
  if (num_labels > 0) c.num_labels = num_labels;
  if (c.vocab_size < p.tok.vocab_size) {
    throw Error(ErrorCode::kInvalidArgument, dir + "/config.json: vocab_size " + std::to_string(c.vocab_size) +
                                                 " is smaller than the tokenizer's " +
                                                 std::to_string(p.tok.vocab_size));
  }
  p.model = std::make_unique<encoder::Model>(c, heads);
  p.model->Init(seed);
  if (!random_init) {
    const encoder::SafetensorsFile file = encoder::SafetensorsFile::Open(dir + "/model.safetensors");
    encoder::LoadWeights(file, p.model.get());
  }
  return p;
}

PairIds EncodePair(const encoder::TextTokenizer& tok, const std::string& a, const std::string& b, int max_len) {
  std::vector<int32_t> ia = tok.encode(a), ib = tok.encode(b);
  const int budget = std::max(2, max_len - 3);
  // Cut a from the front down to half the budget (or what b leaves), then b from the back.
  const int b_room = static_cast<int>(ib.size());
  int a_keep = std::min<int>(static_cast<int>(ia.size()), std::max(budget - b_room, budget / 2));
  if (a_keep < 1 && !ia.empty()) a_keep = 1;
  ia.erase(ia.begin(), ia.end() - a_keep);
  const int b_keep = std::max(0, std::min<int>(static_cast<int>(ib.size()), budget - a_keep));
  ib.resize(b_keep);
  PairIds p;
  p.ids.reserve(ia.size() + ib.size() + 3);
  p.ids.push_back(tok.cls_id);
  p.ids.insert(p.ids.end(), ia.begin(), ia.end());
  p.ids.push_back(tok.sep_id);
  p.types.assign(p.ids.size(), 0);
  p.ids.insert(p.ids.end(), ib.begin(), ib.end());
  p.ids.push_back(tok.sep_id);
  p.types.resize(p.ids.size(), 1);
  return p;
}

encoder::Batch PadRows(const std::vector<const PairIds*>& rows, int pad_id) {
  encoder::Batch b;
  b.batch = static_cast<int>(rows.size());
  b.seq = 1;
  for (const PairIds* r : rows) b.seq = std::max<int>(b.seq, static_cast<int>(r->ids.size()));
  const size_t n = static_cast<size_t>(b.batch) * static_cast<size_t>(b.seq);
  b.input_ids.assign(n, pad_id);
  b.token_type_ids.assign(n, 0);
  b.attention_mask.assign(n, 0.0f);
  for (int i = 0; i < b.batch; ++i) {
    const PairIds& r = *rows[i];
    const size_t off = static_cast<size_t>(i) * static_cast<size_t>(b.seq);
    std::copy(r.ids.begin(), r.ids.end(), b.input_ids.begin() + static_cast<std::ptrdiff_t>(off));
    std::copy(r.types.begin(), r.types.end(), b.token_type_ids.begin() + static_cast<std::ptrdiff_t>(off));
    std::fill_n(b.attention_mask.begin() + static_cast<std::ptrdiff_t>(off), r.ids.size(), 1.0f);
  }
  return b;
}

int64_t EpochOrderItem(uint64_t seed, int64_t n, int64_t i) {
  if (n <= 0) throw Error(ErrorCode::kInvalidArgument, "EpochOrderItem: empty data set");
  const int64_t epoch = i / n;
  // One permutation per epoch, cached for the last epoch asked (a step asks for a run of
  // consecutive positions).
  thread_local uint64_t cached_seed = 0;
  thread_local int64_t cached_epoch = -1, cached_n = -1;
  thread_local std::vector<int64_t> perm;
  if (cached_epoch != epoch || cached_n != n || cached_seed != seed) {
    perm.resize(static_cast<size_t>(n));
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937_64 rng(encoder::DrawSeed(seed, epoch, 0, -1));
    for (int64_t k = n - 1; k > 0; --k) {
      std::uniform_int_distribution<int64_t> d(0, k);
      std::swap(perm[static_cast<size_t>(k)], perm[static_cast<size_t>(d(rng))]);
    }
    cached_seed = seed;
    cached_epoch = epoch;
    cached_n = n;
  }
  return perm[static_cast<size_t>(i % n)];
}

}  // namespace spade::fusion
