// What the downstream probes of an encoder share (probe_mc.h, probe_triples.h): loading a
// pretrained encoder directory with a task head, or the same shape randomly initialised (the
// baseline every probe is reported beside), encoding "[CLS] a [SEP] b [SEP]" pairs with the
// directory's own tokenizer, and a data order that is a function of (seed, step, rank).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "encoder/model.h"
#include "encoder/pretrain_data.h"

namespace spade::fusion {

struct ProbeEncoder {
  std::unique_ptr<encoder::Model> model;
  encoder::TextTokenizer tok;
};

// DIR/config.json (+ DIR/model.safetensors unless `random_init`) and DIR's tokenizer, with
// `heads`; `num_labels` > 0 overrides the config's (the classification head's width). Head
// tensors the file lacks keep their initialisation from `seed`. Throws encoder::Error naming
// the file; a GPT-2 directory is refused (the probes need a bidirectional encoder).
ProbeEncoder LoadProbeEncoder(const std::string& dir, const encoder::HeadsConfig& heads, bool random_init,
                              uint64_t seed, int num_labels = 0);

// [CLS] a [SEP] b [SEP] (token types 0 for a's part, 1 for b's), at most `max_len` tokens:
// a is cut from its front (a question's end carries the ask), then b from its back.
struct PairIds {
  std::vector<int32_t> ids, types;
};
PairIds EncodePair(const encoder::TextTokenizer& tok, const std::string& a, const std::string& b, int max_len);

// Rows padded to the longest of them: a Batch with attention mask and token types.
encoder::Batch PadRows(const std::vector<const PairIds*>& rows, int pad_id);

// Position `i` of the data order: epoch e = i / n visits a permutation of [0, n) drawn from
// (seed, e); so the item at step s, slot j is a pure function of (seed, s, rank, j).
int64_t EpochOrderItem(uint64_t seed, int64_t n, int64_t i);

}  // namespace spade::fusion
