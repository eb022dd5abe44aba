#pragma once
// A batch of examples as the first layer reads it (rows x features): a matrix, or a function
// that writes one. A written batch is written by each core that reads it, into a copy of its
// own, so a core never reads rows that another core wrote: those cache lines would have to
// cross between the cores, and that costs more than converting the bytes again.
#include <cstdint>
#include <vector>

#include "digitnet/core/matrix.hpp"
#include "digitnet/core/parallel.hpp"

namespace digitnet {

template <class T>
struct Batch {
  using Fill = FunctionRef<void(Matrix<T>)>;  // must write the same values every time it is called
  Matrix<const T> X;                          // the batch; or, when X.data is null, its shape, and fill writes it
  const Fill* fill = nullptr;                 // must outlive the step the batch is used in

  Batch(Matrix<const T> x) : X(x) {}  // NOLINT(google-explicit-constructor): a matrix is a batch
  Batch(Matrix<T> x) : X(x) {}        // NOLINT(google-explicit-constructor)
  Batch(int rows, int cols, const Fill& f) : X(nullptr, rows, cols), fill(&f) {}
  int rows() const { return X.rows; }
  int cols() const { return X.cols; }
};

// One step's batch as each core reads it.
template <class T>
class CoreCopies {
 public:
  // A new step: no core has written its copy yet.
  void start(const Batch<T>& batch) {
    X_ = batch.X;
    fill_ = batch.fill;
    if (!fill_) return;
    // Started inside a task, every read of this step is on this thread (threads() is 1 there).
    first_core_ = current_core();
    copies_.resize(threads());
    written_.assign(copies_.size(), 0);
  }
  // The batch as the calling core reads it: the matrix, or this core's copy, written on its
  // first read in this step.
  Matrix<const T> here() {
    if (!fill_) return X_;
    const auto c = static_cast<std::size_t>(current_core() - first_core_);
    if (!written_[c]) {
      copies_[c].resize(X_.rows, X_.cols);
      (*fill_)(copies_[c].view());
      written_[c] = 1;
    }
    return copies_[c].view();
  }

 private:
  Matrix<const T> X_;
  const typename Batch<T>::Fill* fill_ = nullptr;
  int first_core_ = 0;
  std::vector<Tensor<T>> copies_;
  std::vector<std::uint8_t> written_;
};

}  // namespace digitnet
