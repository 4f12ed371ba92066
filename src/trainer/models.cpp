// The model registry and its models (see model.h for the math and the two engines).
#include <ATen/ATen.h>
#include <torch/optim/adam.h>

#include <cmath>
#include <functional>

#include "core/errors.h"
#include "trainer/model.h"
#include "trainer/weighting.h"

namespace wmtp::trainer {

// On the CPU a plain loop over rows: LibTorch 1.13's reduction took ~28% of a dlinear-vq step at
// batch 1024 (a 7168 x 64 matrix).
at::Tensor row_argmin(const at::Tensor& d) {
  if (!d.device().is_cpu() || d.scalar_type() != at::kFloat || d.dim() != 2) return d.argmin(1);
  if (d.size(1) == 0) return d.argmin(1);  // LibTorch's error for an empty reduction
  const at::Tensor c = d.contiguous();
  const std::int64_t rows = c.size(0);
  const std::int64_t cols = c.size(1);
  at::Tensor out = at::empty({rows}, at::TensorOptions(at::kLong));
  const float* x = c.data_ptr<float>();
  std::int64_t* idx = out.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < rows; ++i) {
    const float* row = x + i * cols;
    std::int64_t best = 0;
    float least = row[0];
    if (!std::isnan(least)) {
      for (std::int64_t k = 1; k < cols; ++k) {
        if (std::isnan(row[k])) {
          best = k;
          break;
        }
        if (row[k] < least) {
          least = row[k];
          best = k;
        }
      }
    }
    idx[i] = best;
  }
  return out;
}

namespace {

// torch.nn.Linear's init: weight [out, in] then bias [out], both U(-1/sqrt(in), 1/sqrt(in)),
// drawn on the CPU so that every device starts from the same numbers.
struct LinearInit {
  at::Tensor weight;
  at::Tensor bias;
};
LinearInit init_linear(std::int64_t in, std::int64_t out, at::Generator& gen) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  LinearInit l;
  l.weight = at::empty({out, in}, at::kFloat).uniform_(-bound, bound, gen);
  l.bias = at::empty({out}, at::kFloat).uniform_(-bound, bound, gen);
  return l;
}

// Parameters of a fused model live in one flat buffer (so Adam is a few kernels over all of
// them); each parameter is a view into it, in [in, out] layout for the matrix products.
class FlatParams {
 public:
  FlatParams(std::int64_t numel, const at::Device& device)
      : values(at::empty({numel}, at::TensorOptions(at::kFloat).device(device))), grads(at::zeros_like(values)) {}
  // Next view of `shape`; the same view of grads comes back in *grad.
  at::Tensor take(at::IntArrayRef shape, at::Tensor* grad) {
    std::int64_t n = 1;
    for (std::int64_t s : shape) n *= s;
    *grad = grads.narrow(0, offset_, n).view(shape);
    at::Tensor v = values.narrow(0, offset_, n).view(shape);
    offset_ += n;
    return v;
  }
  at::Tensor values;
  at::Tensor grads;

 private:
  std::int64_t offset_ = 0;
};

// Adam exactly as torch::optim::Adam computes it (no weight decay, no amsgrad), in place. On a GPU
// it is LibTorch's fused Adam kernel with the step count on the device (float, as torch.optim's
// fused Adam keeps it): one launch and no host state per step, so a CUDA graph can replay it.
class FusedAdam {
 public:
  FusedAdam(const at::Tensor& params, const OptimizerSpec& spec)
      : m_(at::zeros_like(params)), v_(at::zeros_like(params)), denom_(at::empty_like(params)),
        step_(params.is_cuda() ? at::zeros({}, params.options()) : at::zeros({}, at::kLong)), spec_(spec) {}
  bool on_device() const { return step_.is_cuda(); }
  void step(at::Tensor& params, const at::Tensor& grads) {
    if (on_device()) {
      step_.add_(1);
      at::_fused_adam_({params}, {grads}, {m_}, {v_}, {}, {step_}, spec_.lr, spec_.beta1, spec_.beta2, 0.0, spec_.eps,
                       /*amsgrad=*/false, /*maximize=*/false);
      return;
    }
    std::int64_t& t = *step_.data_ptr<std::int64_t>();
    ++t;
    m_.mul_(spec_.beta1).add_(grads, 1 - spec_.beta1);
    v_.mul_(spec_.beta2).addcmul_(grads, grads, 1 - spec_.beta2);
    const double bias_correction1 = 1 - std::pow(spec_.beta1, static_cast<double>(t));
    const double bias_correction2 = 1 - std::pow(spec_.beta2, static_cast<double>(t));
    at::sqrt_out(denom_, v_);
    denom_.div_(std::sqrt(bias_correction2)).add_(spec_.eps);
    params.addcdiv_(m_, denom_, -spec_.lr / bias_correction1);
  }
  void add_state(std::vector<std::pair<std::string, at::Tensor>>* out) const {
    out->emplace_back("adam.exp_avg", m_);
    out->emplace_back("adam.exp_avg_sq", v_);
    out->emplace_back("adam.step", step_);
  }

 private:
  at::Tensor m_, v_, denom_, step_;
  OptimizerSpec spec_;
};

std::unique_ptr<torch::optim::Adam> make_adam(const std::vector<at::Tensor>& params, const OptimizerSpec& spec) {
  return std::make_unique<torch::optim::Adam>(
      params, torch::optim::AdamOptions(spec.lr).betas({spec.beta1, spec.beta2}).eps(spec.eps));
}

// The weighted loss of the autograd engines, on the autograd graph.
at::Tensor autograd_loss(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& w) {
  const at::Tensor sq = (yhat - y).pow(2);
  return w.defined() ? (w.to(yhat.scalar_type()) * sq).mean() : sq.mean();
}

at::Tensor gather_reference(const WindowTensors& set, const at::Tensor& rows, const Weighting& weighting) {
  return weighting.needs_reference() ? set.naive.index_select(0, rows) : at::Tensor();
}

class SeasonalNaiveModel : public ForecastModel {
 public:
  bool trainable() const override { return false; }
  at::Tensor predict(const WindowTensors& set) override { return set.naive; }
  at::Tensor train_step(const WindowTensors&, const at::Tensor&, const Weighting&) override {
    throw Error("seasonal-naive has nothing to train");
  }
  std::vector<std::pair<std::string, at::Tensor>> state() override { return {}; }
  std::map<std::string, at::Tensor> parameters() const override { return {}; }
};

// ---- DLinear ----

class DLinearFused : public ForecastModel {
 public:
  DLinearFused(const Recipe& r, at::Generator& gen, const at::Device& device)
      : L_(r.window.seq_len), P_(r.window.pred_len),
        flat_(2 * static_cast<std::int64_t>(L_) * P_ + 2 * P_, device) {
    const LinearInit seasonal = init_linear(L_, P_, gen);
    const LinearInit trend = init_linear(L_, P_, gen);
    W_ = flat_.take({2 * L_, P_}, &gW_);
    bs_ = flat_.take({P_}, &gbs_);
    bt_ = flat_.take({P_}, &gbt_);
    W_.narrow(0, 0, L_).copy_(seasonal.weight.t());
    W_.narrow(0, L_, L_).copy_(trend.weight.t());
    bs_.copy_(seasonal.bias);
    bt_.copy_(trend.bias);
    adam_ = std::make_unique<FusedAdam>(flat_.values, r.optimizer);
  }
  bool trainable() const override { return true; }
  at::Tensor predict(const WindowTensors& set) override { return at::addmm(bs_ + bt_, set.features, W_); }
  at::Tensor train_step(const WindowTensors& set, const at::Tensor& rows, const Weighting& weighting) override {
    const at::Tensor xb = set.features.index_select(0, rows);
    const at::Tensor yb = set.y.index_select(0, rows);
    const at::Tensor yhat = at::addmm(bs_ + bt_, xb, W_);
    const LossAndGrad lg = weighted_mse(yhat, yb, weighting.weights(yhat, yb, gather_reference(set, rows, weighting)));
    at::mm_out(gW_, xb.t(), lg.grad);
    at::sum_out(gbs_, lg.grad, {0});
    gbt_.copy_(gbs_);
    adam_->step(flat_.values, flat_.grads);
    return lg.loss;
  }
  std::vector<std::pair<std::string, at::Tensor>> state() override {
    std::vector<std::pair<std::string, at::Tensor>> s = {{"params", flat_.values}};
    adam_->add_state(&s);
    return s;
  }
  bool graph_safe() const override { return adam_->on_device(); }
  std::map<std::string, at::Tensor> parameters() const override {
    return {{"seasonal.weight", W_.narrow(0, 0, L_).t()},
            {"seasonal.bias", bs_},
            {"trend.weight", W_.narrow(0, L_, L_).t()},
            {"trend.bias", bt_}};
  }

 private:
  std::int64_t L_, P_;
  FlatParams flat_;
  at::Tensor W_, bs_, bt_, gW_, gbs_, gbt_;
  std::unique_ptr<FusedAdam> adam_;
};

class DLinearAutograd : public ForecastModel {
 public:
  DLinearAutograd(const Recipe& r, at::Generator& gen, const at::Device& device) : kernel_(r.model.moving_avg) {
    const LinearInit seasonal = init_linear(r.window.seq_len, r.window.pred_len, gen);
    const LinearInit trend = init_linear(r.window.seq_len, r.window.pred_len, gen);
    for (const at::Tensor& t : {seasonal.weight, seasonal.bias, trend.weight, trend.bias}) {
      params_.push_back(t.to(device).set_requires_grad(true));
    }
    adam_ = make_adam(params_, r.optimizer);
  }
  bool trainable() const override { return true; }
  at::Tensor predict(const WindowTensors& set) override {
    at::NoGradGuard no_grad;
    return forward(set.x);
  }
  at::Tensor train_step(const WindowTensors& set, const at::Tensor& rows, const Weighting& weighting) override {
    const at::Tensor yb = set.y.index_select(0, rows);
    const at::Tensor yhat = forward(set.x.index_select(0, rows));
    const at::Tensor w = weighting.weights(yhat.detach(), yb, gather_reference(set, rows, weighting));
    const at::Tensor loss = autograd_loss(yhat, yb, w);
    adam_->zero_grad();
    loss.backward();
    adam_->step();
    return loss.detach();
  }
  std::vector<std::pair<std::string, at::Tensor>> state() override {
    throw Error("the autograd reference engine does not write checkpoints");
  }
  std::map<std::string, at::Tensor> parameters() const override {
    return {{"seasonal.weight", params_[0].detach()},
            {"seasonal.bias", params_[1].detach()},
            {"trend.weight", params_[2].detach()},
            {"trend.bias", params_[3].detach()}};
  }

 private:
  at::Tensor forward(const at::Tensor& x) const {
    const at::Tensor trend = moving_average(x, kernel_);
    const at::Tensor seasonal = x - trend;
    return at::linear(seasonal, params_[0], params_[1]) + at::linear(trend, params_[2], params_[3]);
  }
  int kernel_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<torch::optim::Adam> adam_;
};

// ---- DLinear-VQ ----

// The codebook and its EMA statistics, shared by both engines.
class Codebook {
 public:
  Codebook(const VqSpec& spec, at::Generator& gen, const at::Device& device)
      : spec_(spec), gen_(gen),
        codes_(at::empty({spec.codebook_size, spec.code_dim}, at::kFloat).normal_(0.0, 1.0, gen).to(device)),
        ema_count_(at::zeros({spec.codebook_size}, codes_.options())), ema_sum_(codes_.clone()),
        epoch_counts_(at::zeros({spec.codebook_size}, codes_.options())) {}

  const at::Tensor& codes() const { return codes_; }
  // Index of the nearest code of each row of z: argmin over codes of |c|^2 - 2 z.c.
  at::Tensor assign(const at::Tensor& z) const {
    return row_argmin(at::addmm(codes_.square().sum(1), z, codes_.t(), 1, -2));
  }
  // EMA update from this step's assignments, then dead-code restart from rows of z.
  void update(const at::Tensor& z, const at::Tensor& idx) {
    const std::int64_t K = codes_.size(0);
    const at::Tensor counts = at::zeros({K}, z.options()).index_add_(0, idx, at::ones({idx.size(0)}, z.options()));
    const at::Tensor sums = at::zeros_like(codes_).index_add_(0, idx, z);
    const double decay = spec_.ema_decay;
    ema_count_.mul_(decay).add_(counts, 1 - decay);
    ema_sum_.mul_(decay).add_(sums, 1 - decay);
    const at::Tensor n = ema_count_.sum();
    const at::Tensor smoothed = (ema_count_ + kLaplace) / (n + static_cast<double>(K) * kLaplace) * n;
    codes_.copy_(ema_sum_ / smoothed.unsqueeze(1));
    // Distinct candidates (duplicated codes would tie in the argmin); the generator advances the
    // same way every step, dead codes or not.
    const at::Tensor pick = to_device_async(
        K <= z.size(0) ? at::randperm(z.size(0), gen_, at::TensorOptions(at::kLong)).narrow(0, 0, K)
                       : at::randint(z.size(0), {K}, gen_, at::TensorOptions(at::kLong)),
        z.device());
    const at::Tensor candidates = z.index_select(0, pick);
    const at::Tensor dead = at::lt(ema_count_, spec_.dead_code_threshold);
    const at::Tensor dead_rows = dead.unsqueeze(1);
    codes_.copy_(at::where(dead_rows, candidates, codes_));
    ema_sum_.copy_(at::where(dead_rows, candidates, ema_sum_));
    ema_count_.copy_(at::where(dead, at::ones_like(ema_count_), ema_count_));
    epoch_counts_.add_(counts);
  }
  std::map<std::string, double> end_epoch() {
    const at::Tensor counts = epoch_counts_.to(at::kDouble).cpu();
    const double total = counts.sum().item<double>();
    const double used = at::gt(counts, 0).sum().item<double>();
    double entropy = 0.0;
    const double* c = counts.data_ptr<double>();
    for (std::int64_t k = 0; k < counts.size(0); ++k) {
      if (c[k] > 0) entropy -= c[k] / total * std::log(c[k] / total);
    }
    epoch_counts_.zero_();
    return {{"codebook_util", used / static_cast<double>(counts.size(0))},
            {"codebook_perplexity", total > 0 ? std::exp(entropy) : 0.0}};
  }
  void add_state(std::vector<std::pair<std::string, at::Tensor>>* out) const {
    out->emplace_back("codebook.codes", codes_);
    out->emplace_back("codebook.ema_count", ema_count_);
    out->emplace_back("codebook.ema_sum", ema_sum_);
    out->emplace_back("codebook.epoch_counts", epoch_counts_);
  }

 private:
  static constexpr double kLaplace = 1e-5;
  VqSpec spec_;
  at::Generator gen_;
  at::Tensor codes_, ema_count_, ema_sum_, epoch_counts_;
};

struct VqShape {
  std::int64_t L, P, patch, n_patches, dim;
  explicit VqShape(const Recipe& r)
      : L(r.window.seq_len), P(r.window.pred_len), patch(r.model.vq.patch_len),
        n_patches(r.window.seq_len / r.model.vq.patch_len), dim(r.model.vq.code_dim) {}
};

class DLinearVqFused : public ForecastModel {
 public:
  DLinearVqFused(const Recipe& r, at::Generator& gen, const at::Device& device)
      : s_(r), beta_(r.model.vq.beta),
        flat_(s_.patch * s_.dim + s_.dim + s_.n_patches * s_.dim * s_.P + s_.L * s_.P + 2 * s_.P, device) {
    const LinearInit encoder = init_linear(s_.patch, s_.dim, gen);
    const LinearInit seasonal = init_linear(s_.n_patches * s_.dim, s_.P, gen);
    const LinearInit trend = init_linear(s_.L, s_.P, gen);
    codebook_ = std::make_unique<Codebook>(r.model.vq, gen, device);
    We_ = flat_.take({s_.patch, s_.dim}, &gWe_);
    be_ = flat_.take({s_.dim}, &gbe_);
    Ws_ = flat_.take({s_.n_patches * s_.dim, s_.P}, &gWs_);
    Wt_ = flat_.take({s_.L, s_.P}, &gWt_);
    bs_ = flat_.take({s_.P}, &gbs_);
    bt_ = flat_.take({s_.P}, &gbt_);
    We_.copy_(encoder.weight.t());
    be_.copy_(encoder.bias);
    Ws_.copy_(seasonal.weight.t());
    bs_.copy_(seasonal.bias);
    Wt_.copy_(trend.weight.t());
    bt_.copy_(trend.bias);
    adam_ = std::make_unique<FusedAdam>(flat_.values, r.optimizer);
  }
  bool trainable() const override { return true; }
  at::Tensor predict(const WindowTensors& set) override {
    const std::int64_t n = set.size();
    const at::Tensor patches = set.features.narrow(1, 0, s_.L).reshape({n * s_.n_patches, s_.patch});
    const at::Tensor z = at::addmm(be_, patches, We_);
    const at::Tensor q = codebook_->codes().index_select(0, codebook_->assign(z));
    const at::Tensor zq = (z + (q - z)).view({n, s_.n_patches * s_.dim});
    return at::addmm(bs_ + bt_, set.features.narrow(1, s_.L, s_.L), Wt_).addmm_(zq, Ws_);
  }
  at::Tensor train_step(const WindowTensors& set, const at::Tensor& rows, const Weighting& weighting) override {
    const std::int64_t b = rows.size(0);
    const at::Tensor seasonal = set.features.narrow(1, 0, s_.L).index_select(0, rows);
    const at::Tensor trend = set.features.narrow(1, s_.L, s_.L).index_select(0, rows);
    const at::Tensor yb = set.y.index_select(0, rows);
    const at::Tensor patches = seasonal.view({b * s_.n_patches, s_.patch});
    const at::Tensor z = at::addmm(be_, patches, We_);
    const at::Tensor idx = codebook_->assign(z);
    const at::Tensor q = codebook_->codes().index_select(0, idx);
    const at::Tensor z_minus_q = z - q;
    const at::Tensor zq = (z + (q - z)).view({b, s_.n_patches * s_.dim});
    const at::Tensor yhat = at::addmm(bs_ + bt_, trend, Wt_).addmm_(zq, Ws_);
    const LossAndGrad lg = weighted_mse(yhat, yb, weighting.weights(yhat, yb, gather_reference(set, rows, weighting)));
    const at::Tensor commit = z_minus_q.square().mean().mul_(beta_);
    // Backward by hand: heads, then straight through the quantizer to the encoder.
    at::mm_out(gWs_, zq.t(), lg.grad);
    at::mm_out(gWt_, trend.t(), lg.grad);
    at::sum_out(gbs_, lg.grad, {0});
    gbt_.copy_(gbs_);
    const at::Tensor dz = at::mm(lg.grad, Ws_.t())
                              .view({b * s_.n_patches, s_.dim})
                              .add_(z_minus_q, 2.0 * beta_ / static_cast<double>(z_minus_q.numel()));
    at::mm_out(gWe_, patches.t(), dz);
    at::sum_out(gbe_, dz, {0});
    adam_->step(flat_.values, flat_.grads);
    codebook_->update(z, idx);
    return lg.loss + commit;
  }
  std::vector<std::pair<std::string, at::Tensor>> state() override {
    std::vector<std::pair<std::string, at::Tensor>> s = {{"params", flat_.values}};
    adam_->add_state(&s);
    codebook_->add_state(&s);
    return s;
  }
  std::map<std::string, at::Tensor> parameters() const override {
    return {{"encoder.weight", We_.t()}, {"encoder.bias", be_},     {"seasonal.weight", Ws_.t()},
            {"seasonal.bias", bs_},      {"trend.weight", Wt_.t()}, {"trend.bias", bt_},
            {"codebook", codebook_->codes()}};
  }
  std::map<std::string, double> end_epoch() override { return codebook_->end_epoch(); }

 private:
  VqShape s_;
  double beta_;
  FlatParams flat_;
  std::unique_ptr<Codebook> codebook_;
  at::Tensor We_, be_, Ws_, Wt_, bs_, bt_, gWe_, gbe_, gWs_, gWt_, gbs_, gbt_;
  std::unique_ptr<FusedAdam> adam_;
};

class DLinearVqAutograd : public ForecastModel {
 public:
  DLinearVqAutograd(const Recipe& r, at::Generator& gen, const at::Device& device)
      : s_(r), beta_(r.model.vq.beta), kernel_(r.model.moving_avg) {
    const LinearInit encoder = init_linear(s_.patch, s_.dim, gen);
    const LinearInit seasonal = init_linear(s_.n_patches * s_.dim, s_.P, gen);
    const LinearInit trend = init_linear(s_.L, s_.P, gen);
    codebook_ = std::make_unique<Codebook>(r.model.vq, gen, device);
    for (const at::Tensor& t : {encoder.weight, encoder.bias, seasonal.weight, seasonal.bias, trend.weight, trend.bias}) {
      params_.push_back(t.to(device).set_requires_grad(true));
    }
    adam_ = make_adam(params_, r.optimizer);
  }
  bool trainable() const override { return true; }
  at::Tensor predict(const WindowTensors& set) override {
    at::NoGradGuard no_grad;
    return forward(set.x).yhat;
  }
  at::Tensor train_step(const WindowTensors& set, const at::Tensor& rows, const Weighting& weighting) override {
    const at::Tensor yb = set.y.index_select(0, rows);
    const Forward f = forward(set.x.index_select(0, rows));
    const at::Tensor w = weighting.weights(f.yhat.detach(), yb, gather_reference(set, rows, weighting));
    const at::Tensor loss = autograd_loss(f.yhat, yb, w) + beta_ * (f.z - f.q).pow(2).mean();
    adam_->zero_grad();
    loss.backward();
    adam_->step();
    codebook_->update(f.z.detach(), f.idx);
    return loss.detach();
  }
  std::vector<std::pair<std::string, at::Tensor>> state() override {
    throw Error("the autograd reference engine does not write checkpoints");
  }
  std::map<std::string, at::Tensor> parameters() const override {
    return {{"encoder.weight", params_[0].detach()},  {"encoder.bias", params_[1].detach()},
            {"seasonal.weight", params_[2].detach()}, {"seasonal.bias", params_[3].detach()},
            {"trend.weight", params_[4].detach()},    {"trend.bias", params_[5].detach()},
            {"codebook", codebook_->codes()}};
  }
  std::map<std::string, double> end_epoch() override { return codebook_->end_epoch(); }

 private:
  struct Forward {
    at::Tensor yhat, z, q, idx;
  };
  Forward forward(const at::Tensor& x) const {
    const std::int64_t b = x.size(0);
    const at::Tensor trend = moving_average(x, kernel_);
    const at::Tensor seasonal = x - trend;
    Forward f;
    f.z = at::linear(seasonal.reshape({b * s_.n_patches, s_.patch}), params_[0], params_[1]);
    f.idx = codebook_->assign(f.z.detach());
    f.q = codebook_->codes().index_select(0, f.idx);
    const at::Tensor zq = f.z + (f.q - f.z).detach();
    f.yhat = at::linear(zq.reshape({b, s_.n_patches * s_.dim}), params_[2], params_[3]) +
             at::linear(trend, params_[4], params_[5]);
    return f;
  }
  VqShape s_;
  double beta_;
  int kernel_;
  std::unique_ptr<Codebook> codebook_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<torch::optim::Adam> adam_;
};

using Factory = std::function<std::unique_ptr<ForecastModel>(const Recipe&, at::Generator&, const at::Device&, Engine)>;

template <typename Fused, typename Autograd>
Factory trainable_factory() {
  return [](const Recipe& r, at::Generator& gen, const at::Device& device, Engine engine) -> std::unique_ptr<ForecastModel> {
    if (engine == Engine::kAutograd) return std::make_unique<Autograd>(r, gen, device);
    return std::make_unique<Fused>(r, gen, device);
  };
}

const std::map<std::string, Factory>& registry() {
  static const std::map<std::string, Factory> r = {
      {"dlinear", trainable_factory<DLinearFused, DLinearAutograd>()},
      {"dlinear-vq", trainable_factory<DLinearVqFused, DLinearVqAutograd>()},
      {"seasonal-naive",
       [](const Recipe&, at::Generator&, const at::Device&, Engine) { return std::make_unique<SeasonalNaiveModel>(); }},
  };
  return r;
}

}  // namespace

at::Tensor to_device_async(const at::Tensor& host, const at::Device& device) {
  if (!device.is_cuda()) return host.to(device);
  return host.pin_memory().to(at::TensorOptions().device(device), /*non_blocking=*/true);
}

at::Tensor moving_average(const at::Tensor& x, int kernel) {
  const std::int64_t pad = (kernel - 1) / 2;
  const std::int64_t n = x.size(0);
  const std::int64_t len = x.size(1);
  const at::Tensor padded = at::cat({x.narrow(1, 0, 1).expand({n, pad}), x, x.narrow(1, len - 1, 1).expand({n, pad})}, 1);
  return at::avg_pool1d(padded.unsqueeze(1), {kernel}, {1}).squeeze(1);
}

at::Tensor seasonal_naive(const at::Tensor& x, int pred_len, int period) {
  const std::int64_t len = x.size(1);
  std::vector<std::int64_t> idx;
  for (std::int64_t h = 0; h < pred_len; ++h) idx.push_back(len - period * ((h + period) / period) + h);
  return x.index_select(1, at::tensor(idx, at::TensorOptions(at::kLong)).to(x.device()));
}

WindowTensors make_windows(const std::vector<double>& standardized, const std::vector<std::size_t>& starts,
                           int seq_len, int pred_len, int period, int moving_avg, const at::Device& device) {
  std::vector<std::int64_t> first(starts.begin(), starts.end());
  const at::Tensor series =
      at::tensor(standardized, at::TensorOptions(at::kDouble)).to(at::kFloat);
  const at::Tensor all = series.unfold(0, seq_len + pred_len, 1);
  const at::Tensor rows = all.index_select(0, at::tensor(first, at::TensorOptions(at::kLong))).to(device);
  WindowTensors w;
  w.x = rows.narrow(1, 0, seq_len).contiguous();
  w.y = rows.narrow(1, seq_len, pred_len).contiguous();
  w.naive = seasonal_naive(w.x, pred_len, period).contiguous();
  if (moving_avg > 0) {
    const at::Tensor trend = moving_average(w.x, moving_avg);
    w.features = at::cat({w.x - trend, trend}, 1).contiguous();
  }
  return w;
}

LossAndGrad weighted_mse(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& w) {
  const at::Tensor diff = yhat - y;
  const double scale = 2.0 / static_cast<double>(diff.numel());
  LossAndGrad out;
  if (w.defined()) {
    const at::Tensor wd = diff * w.to(diff.scalar_type());
    out.loss = (wd * diff).mean();
    out.grad = wd * scale;
  } else {
    out.loss = diff.square().mean();
    out.grad = diff.mul(scale);
  }
  return out;
}

std::unique_ptr<ForecastModel> make_model(const Recipe& recipe, at::Generator& gen, const at::Device& device,
                                          Engine engine) {
  auto it = registry().find(recipe.model.kind);
  if (it == registry().end()) throw InputError("unknown model '" + recipe.model.kind + "'");
  return it->second(recipe, gen, device, engine);
}

std::vector<std::string> model_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

}  // namespace wmtp::trainer
