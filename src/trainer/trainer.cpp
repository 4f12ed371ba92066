// Trainer: the step loop, evaluation and checkpoints over the models of model.h.
#include "trainer/trainer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/cuda.h>
#include <torch/serialize/archive.h>
#include <torch/version.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "core/canonical_json.h"
#include "core/errors.h"
#include "core/metrics.h"
#include "experiment/checkpoint_identity.h"
#include "experiment/run_contract.h"
#include "trainer/cuda_graph.h"
#include "trainer/model.h"
#include "trainer/weighting.h"

namespace wmtp::trainer {
namespace {

constexpr int kCheckpointFormat = 1;

at::Device resolve_device(const std::string& name) {
  if (name == "cpu") return at::Device(at::kCPU);
  const std::string_view cuda = "cuda";
  if (name.compare(0, cuda.size(), cuda) != 0)
    throw InputError("--device '" + name + "': expected cpu, cuda or cuda:N");
  int index = 0;
  if (name.size() > cuda.size()) {
    const std::string digits = name.substr(cuda.size() + 1);
    const bool well_formed = name[cuda.size()] == ':' && !digits.empty() && digits.size() <= 4 &&
                             digits.find_first_not_of("0123456789") == std::string::npos;
    if (!well_formed) throw InputError("--device '" + name + "': expected cpu, cuda or cuda:N (N a GPU index)");
    index = std::stoi(digits);
  }
  if (!cuda_available()) {
    throw InputError("--device " + name + ": this LibTorch build has no CUDA support or sees no GPU (" +
                     compute_info() + "); use --device cpu");
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    throw InputError("--device " + name + ": no such GPU (this machine has " + std::to_string(count) +
                     ": cuda:0 to cuda:" + std::to_string(count - 1) + ")");
  }
  use_cuda_device(index);  // streams, graphs and the allocator of this thread then use that GPU
  return at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(index));
}

std::vector<double> to_doubles(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).cpu().contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

at::Tensor from_doubles(const std::vector<double>& v) { return at::tensor(v, at::TensorOptions(at::kDouble)); }

SplitMetrics split_metrics(const std::vector<double>& y, const std::vector<double>& yhat) {
  SplitMetrics m;
  m.mse = mean_squared_error(y, yhat);
  m.mae = mean_absolute_error(y, yhat);
  m.pape = pape(y, yhat);
  m.hr = hit_rate(y, yhat);
  return m;
}

// What a checkpoint must match: recipe, seed and the data it trains on.
std::string fingerprint(const experiment::Recipe& recipe, std::uint64_t seed, const experiment::SeriesData& data) {
  return content_hash16({{"format", kCheckpointFormat},
                         {"recipe", recipe.to_json()},
                         {"seed", seed},
                         {contract::param::kTrainDataHash, data.train_hash},
                         {"series", data.series.name}});
}

// Archive keys become TorchScript attribute names, which may not contain dots.
std::string archive_key(const std::string& prefix, const std::string& name) {
  std::string key = prefix + name;
  for (char& c : key) c = c == '.' ? '_' : c;
  return key;
}

// torch::serialize::OutputArchive's layout (a module with one attribute per key, which
// InputArchive reads), saved with the checkpoint's identity as the module's extra file.
class CheckpointWriter {
 public:
  CheckpointWriter() : unit_(std::make_shared<torch::jit::CompilationUnit>()), module_("__torch__.Module", unit_) {}
  void write(const std::string& key, const at::Tensor& tensor) { module_.register_parameter(key, tensor, false); }
  void write(const std::string& key, const c10::IValue& value) { module_.register_attribute(key, value.type(), value); }
  void save(const std::string& path, const experiment::CheckpointIdentity& identity) const {
    module_.save(path, {{experiment::kCheckpointIdentityFile, identity.to_text()}});
  }

 private:
  std::shared_ptr<torch::jit::CompilationUnit> unit_;
  torch::jit::Module module_;
};

}  // namespace

struct Trainer::Impl {
  experiment::Recipe recipe;
  experiment::SeriesData data;
  std::uint64_t seed;
  at::Device device;
  int period;
  experiment::WindowIndex index;
  WindowTensors train, val, test;
  at::Generator gen;
  std::unique_ptr<ForecastModel> model;
  std::unique_ptr<Weighting> weighting;
  std::unique_ptr<StepGraph> graph;  // the step as a CUDA graph, where device, model and weighting allow
  std::int64_t batch;
  std::int64_t steps_per_epoch;

  // Progress; all of it goes into checkpoints.
  std::int64_t global_step = 0;
  int epochs_done = 0;
  std::int64_t step_in_epoch = 0;
  at::Tensor perm;  // this epoch's order of the train windows; undefined before it is drawn
  std::int64_t nan_steps = 0;
  bool failed = false;
  std::vector<double> loss_history;
  std::vector<EpochSummary> epochs;

  Impl(const experiment::Recipe& r, const experiment::SeriesData& d, std::uint64_t s, const TrainerOptions& options)
      : recipe(r),
        data(d),
        seed(s),
        device(resolve_device(options.device)),
        period(experiment::seasonal_period(r, d.series)),
        index(experiment::window_index(d, r.window.seq_len, r.window.pred_len)),
        gen(at::make_generator<at::CPUGeneratorImpl>(s)) {
    if (period > r.window.seq_len) {
      throw InputError(r.label + ": the seasonal period of series '" + d.series.name + "' is " +
                       std::to_string(period) + " points, longer than window.seq_len " +
                       std::to_string(r.window.seq_len) + "; raise seq_len or set window.seasonal_period");
    }
    const int ma = r.trainable() ? r.model.moving_avg : 0;
    const auto windows = [&](const std::vector<std::size_t>& starts) {
      return make_windows(d.standardized, starts, r.window.seq_len, r.window.pred_len, period, ma, device);
    };
    train = windows(index.train_starts);
    val = windows(index.val_starts);
    test = windows(index.test_starts);
    model = make_model(r, gen, device, options.autograd_reference ? Engine::kAutograd : Engine::kFused);
    std::vector<double> train_z(d.standardized.begin(),
                                d.standardized.begin() + static_cast<std::ptrdiff_t>(d.bounds.train_end));
    weighting = make_weighting(r.weighting, quantile_linear(train_z, r.weighting.quantile));
    batch = r.training.batch_size;
    if (model->trainable() && batch > train.size()) {
      throw InputError(r.label + ": training.batch_size " + std::to_string(batch) + " exceeds the " +
                       std::to_string(train.size()) + " train windows of series '" + d.series.name + "'");
    }
    // The last partial batch is dropped (as LTSF-Linear does): every logged loss averages a full batch.
    steps_per_epoch = model->trainable() ? train.size() / batch : 0;
    if (device.is_cuda() && options.cuda_graphs && model->trainable() && model->graph_safe() &&
        weighting->graph_safe()) {
      graph = make_step_graph([this](const at::Tensor& rows) { return model->train_step(train, rows, *weighting); });
    }
  }

  std::int64_t total_steps() const { return steps_per_epoch * recipe.training.epochs; }
  bool done() const { return failed || !model->trainable() || epochs_done >= recipe.training.epochs; }

  double mse(const WindowTensors& set) const { return (model->predict(set) - set.y).square().mean().item<double>(); }

  void end_epoch(const Hooks& hooks) {
    EpochSummary e;
    e.epoch = ++epochs_done;
    e.val_loss = mse(val);
    e.metrics = model->end_epoch();
    epochs.push_back(e);
    step_in_epoch = 0;
    perm = at::Tensor();
    if (hooks.on_epoch) hooks.on_epoch(e);
  }

  // Records the losses of the last pending.size() steps (on the host now) and fires their on_step.
  void record(std::vector<at::Tensor>* pending, const Hooks& hooks) {
    const std::vector<double> losses = pending->size() == 1 ? std::vector<double>{pending->front().item<double>()}
                                                            : to_doubles(at::stack(*pending));
    pending->clear();
    std::int64_t step = global_step - static_cast<std::int64_t>(losses.size());
    for (double loss : losses) {
      loss_history.push_back(loss);
      if (!std::isfinite(loss)) {
        ++nan_steps;
        failed = true;
      }
      if (hooks.on_step) hooks.on_step(++step, loss);
    }
  }

  std::int64_t train_steps(std::int64_t max_steps, const Hooks& hooks) {
    std::int64_t taken = 0;
    std::vector<at::Tensor> pending;  // losses still on the device (cuda only; see Trainer::Hooks)
    while (taken < max_steps && !done()) {
      if (hooks.should_stop && hooks.should_stop()) break;
      if (!perm.defined())
        perm = to_device_async(at::randperm(train.size(), gen, at::TensorOptions(at::kLong)), device);
      const at::Tensor rows = perm.narrow(0, step_in_epoch * batch, batch);
      pending.push_back(graph ? graph->step(rows) : model->train_step(train, rows, *weighting));
      ++global_step;
      ++step_in_epoch;
      ++taken;
      const bool epoch_end = step_in_epoch == steps_per_epoch;
      const bool checkpoint = global_step % recipe.training.checkpoint_every == 0;
      if (!device.is_cuda() || epoch_end || checkpoint || taken == max_steps) {
        record(&pending, hooks);
        if (failed) break;
      }
      if (epoch_end) end_epoch(hooks);
      if (checkpoint && hooks.on_checkpoint) hooks.on_checkpoint(global_step);
    }
    if (!pending.empty()) record(&pending, hooks);  // stopped between device syncs
    return taken;
  }

  // Forecasts of a split in kW, flattened window by window.
  std::vector<double> forecast_kw(const WindowTensors& set) const {
    std::vector<double> z = to_doubles(model->predict(set));
    for (double& v : z) v = data.scaler.inverse(v);
    return z;
  }

  // Targets (and reference forecasts) in kW straight from the raw series: no float32 round trip.
  std::vector<double> targets_kw(const std::vector<std::size_t>& starts) const {
    return experiment::window_targets(data.series, starts, recipe.window.seq_len, recipe.window.pred_len);
  }
  std::vector<double> reference_kw(const std::vector<std::size_t>& starts) const {
    std::vector<double> out;
    const auto L = static_cast<std::int64_t>(recipe.window.seq_len);
    for (std::size_t s : starts) {
      for (std::int64_t h = 0; h < recipe.window.pred_len; ++h) {
        const std::int64_t back = period * ((h + period) / period);
        out.push_back(data.series.values[static_cast<std::size_t>(static_cast<std::int64_t>(s) + L - back + h)]);
      }
    }
    return out;
  }

  Evaluation evaluate(int trace_points) const {
    Evaluation ev;
    const std::vector<double> val_y = targets_kw(index.val_starts);
    const std::vector<double> test_y = targets_kw(index.test_starts);
    const std::vector<double> val_hat = forecast_kw(val);
    const std::vector<double> test_hat = forecast_kw(test);
    const std::vector<double> test_ref = reference_kw(index.test_starts);
    for (const std::vector<double>* v : {&val_hat, &test_hat}) {
      for (double x : *v) ev.n_nan_predictions += std::isfinite(x) ? 0 : 1;
    }
    ev.val = split_metrics(val_y, val_hat);
    ev.test = split_metrics(test_y, test_hat);
    ev.ref_test = split_metrics(test_y, test_ref);
    ev.val_forecast = val_hat;
    ev.test_forecast = test_hat;
    ev.peak_threshold = quantile_linear(test_y, 0.9);
    const auto P = static_cast<std::size_t>(recipe.window.pred_len);
    for (std::size_t w = 0;
         w < index.test_starts.size() && ev.trace_actual.size() < static_cast<std::size_t>(trace_points); w += P) {
      const std::size_t first = index.test_starts[w] + static_cast<std::size_t>(recipe.window.seq_len);
      for (std::size_t h = 0; h < P; ++h) {
        ev.trace_time_s.push_back(data.series.time_s[first + h]);
        ev.trace_actual.push_back(test_y[w * P + h]);
        ev.trace_forecast.push_back(test_hat[w * P + h]);
        ev.trace_reference.push_back(test_ref[w * P + h]);
      }
    }
    return ev;
  }

  void save(const std::string& path, experiment::CheckpointIdentity identity) const {
    identity.seed = std::to_string(seed);
    identity.series = data.series.name;
    identity.model = recipe.model.kind;
    identity.train_data_hash = data.train_hash;
    identity.val_data_hash = data.val_hash;
    identity.test_data_hash = data.test_hash;
    identity.step = global_step;
    CheckpointWriter ar;
    ar.write("fingerprint", c10::IValue(fingerprint(recipe, seed, data)));
    for (const auto& [name, tensor] : model->state()) ar.write(archive_key("state_", name), tensor.detach().cpu());
    ar.write("rng", gen.get_state());
    ar.write("perm", perm.defined() ? perm.cpu() : at::empty({0}, at::kLong));
    ar.write("counters",
             at::tensor(std::vector<std::int64_t>{global_step, epochs_done, step_in_epoch, nan_steps, failed ? 1 : 0},
                        at::TensorOptions(at::kLong)));
    ar.write("loss_history", from_doubles(loss_history));
    std::vector<double> val_losses;
    std::map<std::string, std::vector<double>> extras;
    for (const EpochSummary& e : epochs) {
      val_losses.push_back(e.val_loss);
      for (const auto& [k, v] : e.metrics) extras[k].push_back(v);
    }
    ar.write("epoch_val_loss", from_doubles(val_losses));
    for (const auto& [k, v] : extras) ar.write(archive_key("epoch_metric_", k), from_doubles(v));
    ar.save(path, identity);
  }

  void load(const std::string& path) {
    torch::serialize::InputArchive ar;
    try {
      ar.load_from(path);
    } catch (const c10::Error& e) {
      throw InputError(path + ": not a readable wmtp checkpoint: " + e.what_without_backtrace());
    }
    c10::IValue print;
    if (!ar.try_read("fingerprint", print) || !print.isString() ||
        print.toStringRef() != fingerprint(recipe, seed, data)) {
      throw InputError(path + ": checkpoint of another recipe, seed or data than this run");
    }
    for (auto& [name, tensor] : model->state()) {
      at::Tensor saved;
      ar.read(archive_key("state_", name), saved);
      if (!saved.sizes().equals(tensor.sizes())) throw InputError(path + ": state " + name + " has the wrong shape");
      tensor.copy_(saved);
    }
    at::Tensor rng, saved_perm, counters, losses, val_losses;
    ar.read("rng", rng);
    ar.read("perm", saved_perm);
    ar.read("counters", counters);
    ar.read("loss_history", losses);
    ar.read("epoch_val_loss", val_losses);
    gen.set_state(rng);
    perm = saved_perm.numel() > 0 ? saved_perm.to(device) : at::Tensor();
    const std::int64_t* c = counters.data_ptr<std::int64_t>();
    global_step = c[0];
    epochs_done = static_cast<int>(c[1]);
    step_in_epoch = c[2];
    nan_steps = c[3];
    failed = c[4] != 0;
    loss_history = to_doubles(losses);
    epochs.clear();
    const std::vector<double> v = to_doubles(val_losses);
    for (std::size_t i = 0; i < v.size(); ++i) epochs.push_back({static_cast<int>(i) + 1, v[i], {}});
    const std::string prefix = "epoch_metric_";
    for (const std::string& key : ar.keys()) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      at::Tensor series;
      ar.read(key, series);
      const std::vector<double> values = to_doubles(series);
      for (std::size_t i = 0; i < values.size() && i < epochs.size(); ++i)
        epochs[i].metrics[key.substr(prefix.size())] = values[i];
    }
  }
};

Trainer::Trainer(const experiment::Recipe& recipe, const experiment::SeriesData& data, std::uint64_t seed,
                 const TrainerOptions& options)
    : impl_(std::make_unique<Impl>(recipe, data, seed, options)) {}
Trainer::~Trainer() = default;

std::int64_t Trainer::train_steps(std::int64_t max_steps, const Hooks& hooks) {
  return impl_->train_steps(max_steps, hooks);
}
std::int64_t Trainer::train(const Hooks& hooks) {
  return impl_->train_steps(std::numeric_limits<std::int64_t>::max(), hooks);
}
bool Trainer::done() const { return impl_->done(); }
bool Trainer::failed() const { return impl_->failed; }
std::int64_t Trainer::global_step() const { return impl_->global_step; }
int Trainer::epochs_done() const { return impl_->epochs_done; }
std::int64_t Trainer::steps_per_epoch() const { return impl_->steps_per_epoch; }
std::int64_t Trainer::total_steps() const { return impl_->total_steps(); }
std::int64_t Trainer::train_windows() const { return impl_->train.size(); }
std::int64_t Trainer::nan_step_count() const { return impl_->nan_steps; }
int Trainer::seasonal_period() const { return impl_->period; }
const experiment::Recipe& Trainer::recipe() const { return impl_->recipe; }
const experiment::SeriesData& Trainer::data() const { return impl_->data; }
const std::vector<double>& Trainer::loss_history() const { return impl_->loss_history; }
const std::vector<EpochSummary>& Trainer::epoch_history() const { return impl_->epochs; }
std::vector<std::int64_t> Trainer::epoch_permutation() const {
  if (!impl_->perm.defined()) return {};
  const at::Tensor p = impl_->perm.cpu().contiguous();
  return std::vector<std::int64_t>(p.data_ptr<std::int64_t>(), p.data_ptr<std::int64_t>() + p.numel());
}
Evaluation Trainer::evaluate(int trace_points) const { return impl_->evaluate(trace_points); }
void Trainer::save_checkpoint(const std::string& path, const experiment::CheckpointIdentity& identity) const {
  impl_->save(path, identity);
}
void Trainer::load_checkpoint(const std::string& path) { impl_->load(path); }

std::vector<NamedArray> Trainer::parameters() const {
  std::vector<NamedArray> out;
  for (const auto& [name, tensor] : impl_->model->parameters()) {
    const at::Tensor c = tensor.detach().to(at::kFloat).cpu().contiguous();
    out.push_back({name, c.sizes().vec(), std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel())});
  }
  return out;
}

std::unique_ptr<Trainer> make_trainer(const experiment::Recipe& recipe, const experiment::SeriesData& data,
                                      std::uint64_t seed, const TrainerOptions& options) {
  return std::make_unique<Trainer>(recipe, data, seed, options);
}

void set_compute_threads(int threads) {
  if (threads <= 0) return;
  at::set_num_threads(threads);
  // OpenBLAS (Debian's libblas.so.3) keeps a thread pool of its own that at::set_num_threads
  // does not reach; without this, --threads 1 still ran large matmuls on every core.
  using SetBlasThreads = void (*)(int);
  if (void* symbol = dlsym(RTLD_DEFAULT, "openblas_set_num_threads")) {
    reinterpret_cast<SetBlasThreads>(symbol)(threads);
  }
}

bool cuda_available() { return torch::cuda::is_available(); }

void check_device(const std::string& name) { resolve_device(name); }

std::string compute_info() {
  return std::string("LibTorch ") + TORCH_VERSION + ", " + std::to_string(at::get_num_threads()) +
         " thread(s), CUDA: " + (torch::cuda::is_available() ? "yes" : "no");
}

}  // namespace wmtp::trainer
