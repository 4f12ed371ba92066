#pragma once
// The training step as a CUDA graph (issue 7). A fused step is a few dozen small kernels; at the
// batch sizes wmtp trains with, launching them costs more than running them. Captured once, a step
// is one graph launch plus the copy of its batch rows. Only for steps that are device work alone
// (ForecastModel::graph_safe, Weighting::graph_safe). Without CUDA in this LibTorch
// (WMTP_WITH_CUDA unset) make_step_graph returns null and the trainer steps eagerly.
#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>
#include <string>

namespace wmtp::trainer {

class StepGraph {
 public:
  virtual ~StepGraph() = default;
  // One step on rows (int64 indices, on the device); returns its loss (0-dim, on the device), which
  // later steps leave alone. The first calls run the step eagerly (warm-up), the next captures it
  // and every later one replays it.
  virtual at::Tensor step(const at::Tensor& rows) = 0;
};

// The graph of `step`, which must enqueue the same device work on every call; null without CUDA.
std::unique_ptr<StepGraph> make_step_graph(std::function<at::Tensor(const at::Tensor& rows)> step);

// Makes GPU `index` the calling thread's current device (--device cuda:N); nothing without CUDA.
void use_cuda_device(int index);

// While alive, this thread's current CUDA stream is a stream of LibTorch's pool when `enable` and
// `device` is a CUDA device (`cuda` or `cuda:N`: a stream of that GPU, which it also makes the
// thread's current one): runs trained at once on threads overlap on the GPU. Without CUDA in
// this LibTorch, or on cpu, it does nothing.
class PoolStreamScope {
 public:
  PoolStreamScope(bool enable, const std::string& device);

 private:
  std::shared_ptr<void> guard_;
};

}  // namespace wmtp::trainer
