#include "encoder/train_loop.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "encoder/safetensors.h"

namespace spade::encoder {
namespace {

std::string Key(size_t a, const char* kind, const std::string& name) {
  std::string key = "a";
  key.append(std::to_string(a)).append(".").append(kind).append(".").append(name);
  return key;
}

void CheckFinite(const Metrics& m, int64_t step) {
  for (const auto& [name, value] : m) {
    if (!std::isfinite(value)) {
      throw Error(ErrorCode::kNumerical, "step " + std::to_string(step) + ": " + name + " is not finite (" +
                                             std::to_string(value) + "); the run stops, the last checkpoint is kept");
    }
  }
}

void AppendJson(std::ofstream& log, nlohmann::json line) {
  log << line.dump() << '\n';
  log.flush();
}

nlohmann::json MetricsJson(const Metrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

}  // namespace

void AllReduceGradients(const std::vector<ParamArena*>& /*arenas*/) {
  // World size 1: every gradient is already the full batch's. An MPI build averages each
  // arena's grads() buffer here (MPI_Allreduce, then divide by the world size).
}

void SaveTrainCheckpoint(const std::string& path, const std::vector<ParamArena*>& arenas,
                         const std::vector<AdamW>& optimizers, int64_t step, const std::string& fingerprint) {
  std::vector<TensorToWrite> tensors;
  std::map<std::string, std::string> meta = {{"format", "spade-train-checkpoint"},
                                             {"step", std::to_string(step)},
                                             {"fingerprint", fingerprint}};
  for (size_t a = 0; a < arenas.size(); ++a) {
    const ParamArena& arena = *arenas[a];
    const AdamW& opt = optimizers[a];
    meta["updates." + std::to_string(a)] = std::to_string(opt.updates());
    for (const ParamInfo& p : arena.params()) {
      const std::vector<int64_t> shape = {p.rows, p.cols};
      tensors.push_back({Key(a, "value", p.name), shape, arena.values() + p.offset});
      tensors.push_back({Key(a, "adam_m", p.name), shape, opt.first_moment().data() + p.offset});
      tensors.push_back({Key(a, "adam_v", p.name), shape, opt.second_moment().data() + p.offset});
    }
  }
  WriteSafetensors(path, tensors, meta);
}

int64_t LoadTrainCheckpoint(const std::string& path, const std::vector<ParamArena*>& arenas,
                            std::vector<AdamW>* optimizers, const std::string& fingerprint) {
  SafetensorsFile file = SafetensorsFile::Open(path);
  const auto& meta = file.header().metadata;
  auto field = [&](const std::string& k) -> const std::string& {
    auto it = meta.find(k);
    if (it == meta.end()) throw Error(ErrorCode::kCorruption, path + ": checkpoint metadata has no '" + k + "'");
    return it->second;
  };
  if (field("format") != "spade-train-checkpoint") {
    throw Error(ErrorCode::kCorruption, path + ": not a spade training checkpoint (format '" + field("format") + "')");
  }
  if (field("fingerprint") != fingerprint) {
    throw Error(ErrorCode::kInvalidArgument, path + ": checkpoint was written by a different configuration:\n  checkpoint: " +
                                                 field("fingerprint") + "\n  this run:   " + fingerprint);
  }
  auto parse_int = [&](const std::string& k) {
    const std::string& s = field(k);
    try {
      size_t used = 0;
      const long long v = std::stoll(s, &used);
      if (used != s.size() || v < 0) throw std::invalid_argument(s);
      return static_cast<int64_t>(v);
    } catch (const std::exception&) {
      throw Error(ErrorCode::kCorruption, path + ": checkpoint metadata '" + k + "' is not a count: '" + s + "'");
    }
  };
  const int64_t step = parse_int("step");
  // Read everything first so a bad tensor leaves the models untouched.
  std::vector<std::vector<float>> values(arenas.size()), ms(arenas.size()), vs(arenas.size());
  for (size_t a = 0; a < arenas.size(); ++a) {
    const ParamArena& arena = *arenas[a];
    values[a].resize(arena.size());
    ms[a].resize(arena.size());
    vs[a].resize(arena.size());
    for (const ParamInfo& p : arena.params()) {
      const std::vector<int64_t> shape = {p.rows, p.cols};
      for (auto [kind, dst] : {std::pair{"value", &values[a]}, std::pair{"adam_m", &ms[a]}, std::pair{"adam_v", &vs[a]}}) {
        const std::string key = Key(a, kind, p.name);
        const TensorEntry* t = file.Find(key);
        if (!t) throw Error(ErrorCode::kCorruption, path + ": checkpoint has no tensor '" + key + "'");
        std::vector<float> data = file.ReadFloat(*t, shape);
        std::copy(data.begin(), data.end(), dst->begin() + static_cast<std::ptrdiff_t>(p.offset));
      }
    }
  }
  for (size_t a = 0; a < arenas.size(); ++a) {
    std::copy(values[a].begin(), values[a].end(), arenas[a]->values());
    (*optimizers)[a].SetState(std::move(ms[a]), std::move(vs[a]), parse_int("updates." + std::to_string(a)));
    arenas[a]->ZeroGrad();
  }
  return step;
}

TrainResult RunTrainLoop(TrainTask* task, const TrainLoopConfig& cfg, const ProgressCallback& progress) {
  if (cfg.steps <= 0) throw Error(ErrorCode::kInvalidArgument, "--steps must be positive");
  if (cfg.out_dir.empty()) throw Error(ErrorCode::kInvalidArgument, "an output directory is required");
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(cfg.out_dir, ec);
  if (ec) throw Error(ErrorCode::kIOError, cfg.out_dir + ": cannot create directory: " + ec.message());
  const std::string ckpt = cfg.out_dir + "/checkpoint.safetensors";
  const std::string log_path = cfg.log_path.empty() ? cfg.out_dir + "/log.jsonl" : cfg.log_path;

  AdamWConfig oc = cfg.optimizer;
  if (oc.total_steps == 0) oc.total_steps = cfg.steps;
  const std::vector<ParamArena*> arenas = task->Arenas();
  std::vector<AdamW> optimizers;
  for (ParamArena* a : arenas) optimizers.emplace_back(*a, oc);
  const std::string fingerprint = task->Fingerprint();

  TrainResult result;
  int64_t step = 0;
  if (cfg.resume) {
    if (!fs::exists(ckpt)) throw Error(ErrorCode::kNotFound, ckpt + ": --resume given but there is no checkpoint");
    step = LoadTrainCheckpoint(ckpt, arenas, &optimizers, fingerprint);
    result.resumed_from = step;
  } else if (fs::exists(ckpt)) {
    throw Error(ErrorCode::kInvalidArgument,
                ckpt + " exists: pass --resume to continue that run, or choose another --out");
  }
  // On resume the log keeps the lines up to the checkpoint and drops the rest, so a resumed
  // run's log reads as one uninterrupted run.
  if (cfg.resume && fs::exists(log_path)) {
    std::ifstream in(log_path);
    std::string kept, line;
    while (std::getline(in, line)) {
      try {
        const auto j = nlohmann::json::parse(line);
        if (j.value("step", int64_t{0}) <= step) kept += line + "\n";
      } catch (const nlohmann::json::exception&) {  // a line cut by kill -9
      }
    }
    WriteFileAtomic(log_path, kept);
  }
  std::ofstream log(log_path, cfg.resume ? std::ios::app : std::ios::trunc);
  if (!log) throw Error(ErrorCode::kIOError, log_path + ": cannot open the log for writing");

  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto window_start = start;
  int64_t window_tokens = 0;
  const int64_t first = step;
  for (ParamArena* a : arenas) a->ZeroGrad();
  bool stopped = step < cfg.steps && task->ShouldStop();  // a resumed run that had stopped
  while (!stopped && step < cfg.steps) {
    Metrics m = task->ForwardBackward(step);
    CheckFinite(m, step + 1);
    AllReduceGradients(arenas);  // <- the step's gradients are complete here
    float lr = 0, grad_norm = 0;
    for (size_t a = 0; a < arenas.size(); ++a) {
      try {
        optimizers[a].Step(arenas[a]);
      } catch (const Error& e) {
        throw Error(e.code(), "step " + std::to_string(step + 1) + ": " + e.what());
      }
      lr = optimizers[a].last_lr();
      grad_norm += optimizers[a].last_grad_norm() * optimizers[a].last_grad_norm();
    }
    task->AfterUpdate();
    ++step;
    window_tokens += task->TokensPerStep();
    const bool last = step == cfg.steps;
    if (cfg.log_every > 0 && (step % cfg.log_every == 0 || last)) {
      const auto now = Clock::now();
      const double secs = std::chrono::duration<double>(now - window_start).count();
      const double tps = secs > 0 ? static_cast<double>(window_tokens) / secs : 0;
      const double elapsed = std::chrono::duration<double>(now - start).count();
      nlohmann::json line = {{"step", step}, {"lr", lr}, {"grad_norm", std::sqrt(grad_norm)}, {"tokens_per_second", tps}};
      for (const auto& [k, v] : m) line[k] = v;
      AppendJson(log, line);
      if (progress) {
        TrainProgress p;
        p.step = step;
        p.steps = cfg.steps;
        p.loss = m.empty() ? 0 : m.front().second;
        p.tokens_per_second = tps;
        p.eta_seconds = elapsed / static_cast<double>(step - first) * static_cast<double>(cfg.steps - step);
        progress(p);
      }
      window_start = now;
      window_tokens = 0;
    }
    if ((cfg.eval_every > 0 && step % cfg.eval_every == 0) || last) {
      Metrics e = task->Evaluate();
      nlohmann::json line = {{"step", step}, {"eval", MetricsJson(e)}};
      AppendJson(log, line);
      if (last) result.final_eval = e;
      if (!last && task->ShouldStop()) {
        stopped = true;
        result.final_eval = e;
      }
    }
    if ((cfg.save_every > 0 && step % cfg.save_every == 0) || last || stopped) {
      SaveTrainCheckpoint(ckpt, arenas, optimizers, step, fingerprint);
    }
  }
  if (first == cfg.steps) result.final_eval = task->Evaluate();
  result.stopped_early = stopped;
  task->SaveModel(cfg.out_dir);
  result.steps_run = step - first;
  return result;
}

}  // namespace spade::encoder
