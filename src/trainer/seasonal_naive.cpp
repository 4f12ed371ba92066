#include "trainer/seasonal_naive.h"

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/errors.h"

namespace wmtp::trainer {
namespace {

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

}  // namespace

std::unique_ptr<ForecastModel> make_seasonal_naive(const experiment::Recipe&, at::Generator&, const at::Device&,
                                                   Engine) {
  return std::make_unique<SeasonalNaiveModel>();
}

}  // namespace wmtp::trainer
