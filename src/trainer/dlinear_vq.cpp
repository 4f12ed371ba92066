#include "trainer/dlinear_vq.h"

#include <ATen/ATen.h>
#include <torch/optim/adam.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "trainer/adam.h"
#include "trainer/codebook.h"
#include "trainer/model_parts.h"
#include "trainer/weighting.h"

namespace wmtp::trainer {
namespace {

// The sizes a recipe gives DLinear-VQ: window, horizon, patch length, patches per window, code dim.
struct VqShape {
  std::int64_t L, P, patch, n_patches, dim;
  explicit VqShape(const experiment::Recipe& r)
      : L(r.window.seq_len),
        P(r.window.pred_len),
        patch(r.model.vq.patch_len),
        n_patches(r.window.seq_len / r.model.vq.patch_len),
        dim(r.model.vq.code_dim) {}
};

class DLinearVqFused : public ForecastModel {
 public:
  DLinearVqFused(const experiment::Recipe& r, at::Generator& gen, const at::Device& device)
      : s_(r),
        beta_(r.model.vq.beta),
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
    return {{"encoder.weight", We_.t()}, {"encoder.bias", be_}, {"seasonal.weight", Ws_.t()},    {"seasonal.bias", bs_},
            {"trend.weight", Wt_.t()},   {"trend.bias", bt_},   {"codebook", codebook_->codes()}};
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
  DLinearVqAutograd(const experiment::Recipe& r, at::Generator& gen, const at::Device& device)
      : s_(r), beta_(r.model.vq.beta), kernel_(r.model.moving_avg) {
    const LinearInit encoder = init_linear(s_.patch, s_.dim, gen);
    const LinearInit seasonal = init_linear(s_.n_patches * s_.dim, s_.P, gen);
    const LinearInit trend = init_linear(s_.L, s_.P, gen);
    codebook_ = std::make_unique<Codebook>(r.model.vq, gen, device);
    for (const at::Tensor& t :
         {encoder.weight, encoder.bias, seasonal.weight, seasonal.bias, trend.weight, trend.bias}) {
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

}  // namespace

std::unique_ptr<ForecastModel> make_dlinear_vq(const experiment::Recipe& recipe, at::Generator& gen,
                                               const at::Device& device, Engine engine) {
  return make_trainable<DLinearVqFused, DLinearVqAutograd>(recipe, gen, device, engine);
}

}  // namespace wmtp::trainer
