// See cuda_graph.h. All CUDA-specific code of the trainer is here, behind WMTP_WITH_CUDA.
#include "trainer/cuda_graph.h"

#if defined(WMTP_WITH_CUDA)
#include <ATen/ATen.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/cuda.h>
#include <torch/version.h>
#endif

#include <memory>
#include <mutex>
#include <utility>

namespace wmtp::trainer {

#if defined(WMTP_WITH_CUDA)
namespace {

// LibTorch's CUDAGraph registers every graph with the default CUDA generator's shared state when
// it captures and unregisters it when destroyed, without a lock, and flags that state as
// capturing from begin to end. Runs trained at once on threads (wmtp-train --jobs) therefore
// capture and destroy their graphs one at a time; replays, the per-step work, stay concurrent.
std::mutex& graph_registry_mutex() {
  static std::mutex mutex;
  return mutex;
}

// Eager steps before the capture: they create the cuBLAS handle and workspace of the capture
// stream and the allocator's blocks, which must not happen during a capture.
constexpr int kWarmupSteps = 3;

class CudaStepGraph : public StepGraph {
 public:
  explicit CudaStepGraph(std::function<at::Tensor(const at::Tensor&)> step)
      : step_(std::move(step)), caller_(c10::cuda::getCurrentCUDAStream()), side_(c10::cuda::getStreamFromPool()) {
    const std::lock_guard<std::mutex> lock(graph_registry_mutex());
    graph_ = std::make_unique<at::cuda::CUDAGraph>();
  }

  ~CudaStepGraph() override {
    const std::lock_guard<std::mutex> lock(graph_registry_mutex());
    graph_.reset();
  }

  CudaStepGraph(const CudaStepGraph&) = delete;
  CudaStepGraph& operator=(const CudaStepGraph&) = delete;

  at::Tensor step(const at::Tensor& rows) override {
    if (!captured_) return warm_up_or_capture(rows);
    rows_.copy_(rows);
    graph_->replay();
    return loss_.clone();
  }

 private:
  // Warm-up and capture run on a side stream (a capture cannot use the default stream), fenced by
  // syncs of both streams on both sides: a few syncs per trainer, none per step.
  at::Tensor warm_up_or_capture(const at::Tensor& rows) {
    fence();
    at::Tensor loss;
    if (warmup_left_ > 0) {
      --warmup_left_;
      c10::cuda::CUDAStreamGuard guard(side_);
      loss = step_(rows);
    } else {
      rows_ = rows.clone();
      const std::lock_guard<std::mutex> lock(graph_registry_mutex());
      c10::cuda::CUDAStreamGuard guard(side_);
      begin_capture();
      loss_ = step_(rows_);
      graph_->capture_end();
    }
    fence();
    if (loss.defined()) return loss;
    captured_ = true;
    graph_->replay();  // a capture records the step without running it
    return loss_.clone();
  }

  // The caller's stream and the side stream, not the whole device: runs on other threads
  // (wmtp-train --jobs) keep their streams busy, and may be capturing their own graphs.
  void fence() {
    caller_.synchronize();
    side_.synchronize();
  }

  // A capture that only this thread's CUDA calls can disturb (LibTorch 2.x; 1.x captures globally).
  void begin_capture() {
#if TORCH_VERSION_MAJOR >= 2
    graph_->capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
#else
    graph_->capture_begin();
#endif
  }

  std::function<at::Tensor(const at::Tensor&)> step_;
  c10::cuda::CUDAStream caller_;  // the stream the trainer enqueues on (this thread's current one)
  c10::cuda::CUDAStream side_;
  std::unique_ptr<at::cuda::CUDAGraph> graph_;  // made and destroyed under graph_registry_mutex
  at::Tensor rows_;                             // the graph's input: this step's rows are copied here
  at::Tensor loss_;                             // the graph's output
  int warmup_left_ = kWarmupSteps;
  bool captured_ = false;
};

}  // namespace

std::unique_ptr<StepGraph> make_step_graph(std::function<at::Tensor(const at::Tensor& rows)> step) {
  return std::make_unique<CudaStepGraph>(std::move(step));
}

void use_cuda_device(int index) { c10::cuda::set_device(static_cast<c10::DeviceIndex>(index)); }
#else
std::unique_ptr<StepGraph> make_step_graph(std::function<at::Tensor(const at::Tensor& rows)>) { return nullptr; }

void use_cuda_device(int) {}
#endif

PoolStreamScope::PoolStreamScope(bool enable, const std::string& device) {
#if defined(WMTP_WITH_CUDA)
  if (enable && device.rfind("cuda", 0) == 0) {
    const at::Device gpu(device);  // cuda or cuda:N, checked by check_device before any run
    guard_ = std::make_shared<c10::cuda::CUDAStreamGuard>(
        c10::cuda::getStreamFromPool(false, gpu.has_index() ? gpu.index() : c10::DeviceIndex{0}));
  }
#else
  (void)enable;
  (void)device;
#endif
}

}  // namespace wmtp::trainer
