#pragma once
// What the trainable models (dlinear.cpp, dlinear_vq.cpp) share: torch.nn.Linear's init, the flat
// parameter buffer of the fused engines, the autograd engines' loss and the choice of engine.
#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>

#include "experiment/recipe.h"
#include "trainer/model.h"

namespace wmtp::trainer {

class Weighting;

// torch.nn.Linear's init: weight [out, in] then bias [out], both U(-1/sqrt(in), 1/sqrt(in)),
// drawn on the CPU so that every device starts from the same numbers.
struct LinearInit {
  at::Tensor weight;
  at::Tensor bias;
};
LinearInit init_linear(std::int64_t in, std::int64_t out, at::Generator& gen);

// Parameters of a fused model live in one flat buffer (so Adam is a few kernels over all of
// them); each parameter is a view into it, in [in, out] layout for the matrix products.
class FlatParams {
 public:
  FlatParams(std::int64_t numel, const at::Device& device);
  // Next view of `shape`; the same view of grads comes back in *grad.
  at::Tensor take(at::IntArrayRef shape, at::Tensor* grad);
  at::Tensor values;
  at::Tensor grads;

 private:
  std::int64_t offset_ = 0;
};

// The weighted loss of the autograd engines, on the autograd graph.
at::Tensor autograd_loss(const at::Tensor& yhat, const at::Tensor& y, const at::Tensor& w);

// The seasonal-naive forecast of the batch's rows when the weighting reads it, else undefined.
at::Tensor gather_reference(const WindowTensors& set, const at::Tensor& rows, const Weighting& weighting);

// A model with a fused engine and an autograd reference: the one `engine` asks for.
template <typename Fused, typename Autograd>
std::unique_ptr<ForecastModel> make_trainable(const experiment::Recipe& r, at::Generator& gen, const at::Device& device,
                                              Engine engine) {
  if (engine == Engine::kAutograd) return std::make_unique<Autograd>(r, gen, device);
  return std::make_unique<Fused>(r, gen, device);
}

}  // namespace wmtp::trainer
