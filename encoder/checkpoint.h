// Model directories in the layout Hugging Face users know:
//   config.json        BertConfig / AlbertConfig / ElectraConfig field names (config.h)
//   model.safetensors  tensors under the published names (safetensors.h)
//   vocab.txt | spiece.model, tokenizer_config.json   (tokenizer files, copied by callers)
//
// Tensor-name table (our arena name -> file name). Trunk tensors ("embeddings.*",
// "encoder.*", "pooler*", "embeddings_project.*") are saved with the model prefix
// ("bert.", "albert.", "electra.") as the *ForPreTraining / *ForMaskedLM / *ForSequence-
// Classification classes save them; on load either form is accepted, and LayerNorm
// "gamma"/"beta" (old TF-converted checkpoints) are accepted for "weight"/"bias".
// Head tensors carry no prefix. The tied MLM decoder ("cls.predictions.decoder.weight",
// "predictions.decoder.weight", "generator_lm_head.weight") is not stored separately: it IS
// embeddings.word_embeddings.weight; a copy in the file is ignored. Extra tensors (e.g. old
// "embeddings.position_ids" buffers) are ignored and listed in LoadReport::unused.
//
// Which transformers class loads what we save: BERT with MLM+NSP heads -> BertForPreTraining,
// MLM only -> BertForMaskedLM, classification -> BertForSequenceClassification, multiple
// choice -> BertForMultipleChoice; ALBERT MLM+SOP -> AlbertForPreTraining (sharing "all"
// or "none" only); ELECTRA RTD -> ElectraForPreTraining, generator MLM -> ElectraForMaskedLM.
// HeadsToArchitecture() returns that class name and it is written into config.json.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "encoder/model.h"
#include "encoder/safetensors.h"

namespace spade::encoder {

struct LoadOptions {
  // A head tensor absent from the file keeps its random initialisation (like
  // transformers' "newly initialized" warning) instead of failing; so does the pooler,
  // which *ForMaskedLM checkpoints do not save. The rest of the trunk is always required.
  bool allow_missing_heads = true;
};

struct LoadReport {
  std::vector<std::string> missing_heads;  // head tensors left at their initialisation
  std::vector<std::string> unused;         // file tensors that matched nothing
};

std::string ModelPrefix(Arch arch);  // "bert.", "albert.", "electra."
// The transformers class name for this head set (see the table above).
std::string HeadsToArchitecture(const EncoderConfig& c, const HeadsConfig& h);

// Loads model.safetensors-style weights into model->params(). Throws Error naming the tensor
// for a missing trunk tensor, a wrong shape or a non-float dtype; the model is unchanged
// unless everything loads.
LoadReport LoadWeights(const SafetensorsFile& file, Model* model, const LoadOptions& opt = {});
// Saves every parameter under its published name (atomic), followed by `extra` tensors
// (e.g. a QA model's fusion tensors under their own prefix) in the same file.
void SaveWeights(const Model& model, const std::string& path, const std::vector<TensorToWrite>& extra = {});

// Reads DIR/config.json and DIR/model.safetensors. Throws kNotFound naming the file.
std::unique_ptr<Model> LoadModelDir(const std::string& dir, const HeadsConfig& heads, const LoadOptions& opt = {},
                                    LoadReport* report = nullptr);
// Creates DIR if needed and writes config.json and model.safetensors (each atomically);
// `extra` tensors as in SaveWeights.
void SaveModelDir(const Model& model, const std::string& dir, const std::vector<TensorToWrite>& extra = {});

}  // namespace spade::encoder
