#include "trainer/dlinear.h"

#include <ATen/ATen.h>
#include <torch/optim/adam.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"
#include "trainer/adam.h"
#include "trainer/model_parts.h"
#include "trainer/weighting.h"

namespace wmtp::trainer {
namespace {

class DLinearFused : public ForecastModel {
 public:
  DLinearFused(const experiment::Recipe& r, at::Generator& gen, const at::Device& device)
      : L_(r.window.seq_len), P_(r.window.pred_len), flat_(2 * static_cast<std::int64_t>(L_) * P_ + 2 * P_, device) {
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
  DLinearAutograd(const experiment::Recipe& r, at::Generator& gen, const at::Device& device)
      : kernel_(r.model.moving_avg) {
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

}  // namespace

std::unique_ptr<ForecastModel> make_dlinear(const experiment::Recipe& recipe, at::Generator& gen,
                                            const at::Device& device, Engine engine) {
  return make_trainable<DLinearFused, DLinearAutograd>(recipe, gen, device, engine);
}

}  // namespace wmtp::trainer
